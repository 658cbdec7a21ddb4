import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { FeatureStore } from '../../../src/core/features/featureStore';
import { VerifiedShards, verifiedShardsFile } from '../../../src/core/features/verifiedShards';
import { verifyStore } from '../../../src/core/features/verifyStore';
import { cli } from '../../support/cli';
import { tempDir } from '../../support/paths';
import { syntheticStore } from '../../support/featureStores';

async function readEpoch(store: FeatureStore): Promise<number> {
  let rows = 0;
  for await (const b of store.batches({ batchSize: 7, epoch: 0, seed: 2 })) rows += b.rows;
  return rows;
}

describe('verified shards', () => {
  it('hashes each shard once: a later open (a resume) trusts the memo until a shard changes', async () => {
    const { dir, m } = await syntheticStore();
    const memoFile = await verifiedShardsFile(tempDir('fact-verify-cache-'), dir);
    const first = await FeatureStore.open(dir, { verified: await VerifiedShards.open(memoFile, dir) });
    assert.equal(await readEpoch(first), 60);
    assert.deepEqual(first.reads, { hashed: 6, remembered: 0 });
    const again = await FeatureStore.open(dir, { verified: await VerifiedShards.open(memoFile, dir) });
    assert.equal(await readEpoch(again), 60);
    assert.deepEqual(again.reads, { hashed: 0, remembered: 6 }, 'a resume hashes nothing');
    // A touched shard is hashed again (and still matches); a rewritten one is hashed and refused.
    const touched = path.join(dir, m.shards[2]!.file);
    utimesSync(touched, new Date(), new Date(Date.now() + 5000));
    const third = await FeatureStore.open(dir, { verified: await VerifiedShards.open(memoFile, dir) });
    await readEpoch(third);
    assert.deepEqual(third.reads, { hashed: 1, remembered: 5 });
    const bytes = readFileSync(touched);
    bytes[bytes.length - 1]! ^= 0x01;
    writeFileSync(touched, bytes);
    const fourth = await FeatureStore.open(dir, { verified: await VerifiedShards.open(memoFile, dir) });
    await assert.rejects(readEpoch(fourth), /shard-00002\.safetensors' has a wrong checksum/);
    // A memo for another store, or a damaged memo, vouches for nothing.
    writeFileSync(memoFile, '{not json');
    const fifth = await FeatureStore.open(path.join(dir, '.'), { verified: await VerifiedShards.open(memoFile, dir), onBadShard: 'skip' });
    assert.equal(await readEpoch(fifth), 50, 'skipping leaves the damaged shard out of the batches');
    assert.deepEqual(fifth.reads, { hashed: 6, remembered: 0 });
  });

  it('`fact verify` hashes every shard, names the damaged one, exits 1, and updates the memo training reads', async () => {
    const { dir, m } = await syntheticStore();
    const good = await cli('verify', dir);
    assert.equal(good.code, 0, good.err);
    assert.match(good.out, /6 of 6 shards match their checksums/);
    // The CLI's memo lives in its cache (FACT_CACHE): training after `fact verify` hashes nothing.
    const memoFile = await verifiedShardsFile(process.env.FACT_CACHE!, dir);
    const store = await FeatureStore.open(dir, { verified: await VerifiedShards.open(memoFile, dir) });
    await readEpoch(store);
    assert.deepEqual(store.reads, { hashed: 0, remembered: 6 });
    const file = path.join(dir, m.shards[4]!.file);
    const bytes = readFileSync(file);
    bytes[40]! ^= 0x10;
    writeFileSync(file, bytes);
    const bad = await cli('verify', dir);
    assert.equal(bad.code, 1);
    assert.match(bad.out, /5 of 6 shards match/);
    assert.match(bad.out, new RegExp(`Shard '${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}' has a wrong checksum`));
    const r = await verifyStore(dir, { memoFile });
    assert.deepEqual(
      r.damaged.map((d) => d.shard),
      [m.shards[4]!.file],
    );
    assert.equal((await VerifiedShards.open(memoFile, dir)).size, 5, 'the damaged shard is forgotten');
  });
});
