/** Recursive listing of a corpus folder (relative paths, sorted), skipping hidden entries. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { EmolabError, errorMessage } from '../errors';

export function listFilesRecursive(root: string, keep: (rel: string) => boolean = () => true): string[] {
  const out: string[] = [];
  const visit = (rel: string) => {
    let entries;
    try {
      entries = readdirSync(join(root, rel), { withFileTypes: true });
    } catch (e) {
      throw new EmolabError('data', `cannot list folder: ${errorMessage(e)}`, { file: join(root, rel) });
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) visit(r);
      else if (keep(r)) out.push(r);
    }
  };
  visit('');
  return out.sort();
}

export const AUDIO_EXTENSIONS: readonly string[] = ['.wav', '.flac', '.mp3', '.m4a', '.ogg', '.aac'];
export const VIDEO_EXTENSIONS: readonly string[] = ['.mp4', '.flv', '.avi', '.mkv', '.mov', '.webm'];
