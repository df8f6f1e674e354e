import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CommittedFiles } from '../../connectors/committedFiles.ts';
import { FilePublisher } from '../../connectors/filePublisher.ts';
import { bindIO, type BindingOptions } from '../../runtime/bindIO.ts';
import job from '../fixtures/jobs/user-features.ts';
import { tempDir } from '../kit/files.ts';

const embedded: BindingOptions = { kafka: undefined, topics: {}, inputFiles: {}, outputFiles: {}, outputMode: 'overwrite', settings: { count: 1, rate: 0, seed: 1 } };
const outputLines = (options: Partial<BindingOptions>) => bindIO(job, { ...embedded, ...options }).describe.filter((line) => line.startsWith('output '));

describe('the start-up lines of an embedded run say where each output goes', () => {
  it('names a file overwritten or appended to, stdout, or nothing', () => {
    const dir = tempDir('sluice-bind-');
    assert.deepEqual(outputLines({ outputFiles: { features: join(dir, 'f.jsonl') } }), [`output features: file ${join(dir, 'f.jsonl')} (overwritten)`]);
    assert.deepEqual(outputLines({ outputFiles: { features: join(dir, 'f.jsonl') }, outputMode: 'append' }), [`output features: file ${join(dir, 'f.jsonl')} (appended to)`]);
    assert.deepEqual(outputLines({ outputFiles: { features: '-' } }), ['output features: stdout']);
    assert.deepEqual(outputLines({ outputFiles: { features: 'none' } }), ['output features: discarded']);
  });

  it('says that exactly-once files are published at each checkpoint, and nothing else', () => {
    const dir = tempDir('sluice-bind-');
    const committedFiles = new CommittedFiles({ publisher: new FilePublisher({ directory: join(dir, 'checkpoints') }) });
    assert.deepEqual(outputLines({ outputFiles: { features: join(dir, 'f.jsonl') }, committedFiles }), [`output features: file ${join(dir, 'f.jsonl')} (published at each checkpoint)`]);
  });
});
