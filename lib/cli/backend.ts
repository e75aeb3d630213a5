import { describeBackend, initBackend, parseBackendRequest } from '../backend';
import { EmolabError } from '../errors';
import { parseArgs } from './args';

const BACKENDS = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs('backend', argv);
  const arg = a.positionals[0];
  // A typo in the argument is the argument's fault, not EMOLAB_BACKEND's.
  if (arg !== undefined && !BACKENDS.includes(arg.trim().toLowerCase())) {
    const near = BACKENDS.find((b) => b[0] === arg.trim().toLowerCase()[0]);
    throw new EmolabError('cli', `emolab backend: the backend argument must be one of ${BACKENDS.join(', ')}, got "${arg}"`, near ? { hint: `did you mean: emolab backend ${near}` } : {});
  }
  const report = await initBackend(parseBackendRequest(arg ?? process.env.EMOLAB_BACKEND));
  console.log(describeBackend(report));
  return 0;
}
