import { describeBackend, initBackend, parseBackendRequest } from '../backend';
import { parseArgs } from './args';

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs('backend', argv);
  const report = await initBackend(parseBackendRequest(a.positionals[0] ?? process.env.EMOLAB_BACKEND));
  console.log(describeBackend(report));
  return 0;
}
