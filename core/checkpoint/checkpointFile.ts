import { createHash } from 'node:crypto';
import type { Checkpoint } from './checkpoint.ts';
import { CorruptCheckpointError } from './errors.ts';

const MAGIC = 'SLUICE-CHECKPOINT';
const VERSION = 1;
const HEADER = /^SLUICE-CHECKPOINT (\d+) sha256=([0-9a-f]{64}) bytes=(\d+)$/;
const NEWLINE = 0x0a;

/**
 * The bytes of a checkpoint file: a one-line header with the format version, the SHA-256 and the
 * length of the body, then the body as JSON. The header is what lets a reader tell a good file
 * from a truncated or damaged one.
 *
 *   SLUICE-CHECKPOINT 1 sha256=9f86d0…0f00a08 bytes=48213
 *   {"id":12,"createdAt":…,"positions":[…],"state":{…},"operators":{…}}
 *
 * @example
 * const bytes = encodeCheckpoint(checkpoint);
 * decodeCheckpoint(bytes, 'checkpoint-000000000012.ckpt'); // the same checkpoint
 */
export function encodeCheckpoint(checkpoint: Checkpoint): Buffer {
  const body = Buffer.from(JSON.stringify(checkpoint), 'utf8');
  const digest = createHash('sha256').update(body).digest('hex');
  return Buffer.concat([Buffer.from(`${MAGIC} ${VERSION} sha256=${digest} bytes=${body.length}\n`, 'utf8'), body]);
}

/** Reads a checkpoint file's bytes; throws {@link CorruptCheckpointError} saying what is wrong. */
export function decodeCheckpoint(bytes: Buffer, path: string): Checkpoint {
  if (bytes.length === 0) throw new CorruptCheckpointError(path, 'empty file');
  const end = bytes.indexOf(NEWLINE);
  const headerText = bytes.subarray(0, end === -1 ? Math.min(bytes.length, 200) : end).toString('utf8');
  const header = end === -1 ? null : HEADER.exec(headerText);
  if (header === null) throw new CorruptCheckpointError(path, `no checkpoint header (starts with ${JSON.stringify(headerText.slice(0, 40))})`);
  const version = Number(header[1]);
  if (version !== VERSION) throw new CorruptCheckpointError(path, `format version ${version}, this Sluice reads ${VERSION}`);
  const body = bytes.subarray(end + 1);
  const expected = Number(header[3]);
  if (body.length < expected) throw new CorruptCheckpointError(path, `truncated: ${body.length} of ${expected} bytes`);
  if (body.length > expected) throw new CorruptCheckpointError(path, `${body.length - expected} bytes of trailing garbage`);
  const digest = createHash('sha256').update(body).digest('hex');
  if (digest !== header[2]) throw new CorruptCheckpointError(path, `checksum mismatch: header says sha256=${header[2]!.slice(0, 12)}…, content is ${digest.slice(0, 12)}…`);
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new CorruptCheckpointError(path, `body is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  return checkShape(value, path);
}

function checkShape(value: unknown, path: string): Checkpoint {
  const fail = (what: string): never => {
    throw new CorruptCheckpointError(path, what);
  };
  if (typeof value !== 'object' || value === null) return fail('body is not an object');
  const c = value as Record<string, unknown>;
  if (!Number.isInteger(c.id)) fail('`id` is not an integer');
  if (typeof c.createdAt !== 'number') fail('`createdAt` is not a number');
  if (!Array.isArray(c.positions)) fail('`positions` is not an array');
  for (const p of c.positions as unknown[]) {
    const position = p as Record<string, unknown> | null;
    if (position === null || typeof position.topic !== 'string' || !Number.isInteger(position.partition) || typeof position.offset !== 'number') fail('a position is not {topic, partition, offset}');
  }
  if (typeof c.state !== 'object' || c.state === null || Array.isArray(c.state)) fail('`state` is not an object');
  if (typeof c.operators !== 'object' || c.operators === null || Array.isArray(c.operators)) fail('`operators` is not an object');
  return value as Checkpoint;
}
