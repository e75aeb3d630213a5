/**
 * The main job (`npm start`): the whole chain on the default dataset, each step a function of
 * lib/ whose output on disk is the next step's input. Steps are added here as the stages land.
 */
import { describeBackend, initBackend } from './backend';
import { profileName } from './profile';

export async function runMainJob(): Promise<void> {
  const backend = await initBackend();
  console.log(`\nemolab main job  profile=${profileName()}  ${describeBackend(backend)}`);
}
