// Generates CID vectors with the exact library versions dwn-sdk-js 0.5.2 depends on.
import * as cbor from '@ipld/dag-cbor';
import { CID } from 'multiformats/cid';
import { sha256 } from 'multiformats/hashes/sha2';
import { importer } from 'ipfs-unixfs-importer';

function data(n) { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff; return b; }
async function dagPb(content) {
  let root; for await (root of importer([{ content }], { put: async () => {} }, { cidVersion: 1 })) { ; }
  return root.cid.toString();
}
async function computeCid(payload) {
  const bytes = cbor.encode(payload);
  return { cid: CID.createV1(cbor.code, await sha256.digest(bytes)).toString(), hex: Buffer.from(bytes).toString('hex') };
}
const C = 262144;
const sizes = [0, 1, 100, C - 1, C, C + 1, 2 * C + 7, 174 * C, 174 * C + 1, 174 * 2 * C + 3];
const dataVectors = [];
for (const n of sizes) dataVectors.push({ size: n, cid: await dagPb(data(n)) });
const objs = [
  {},
  { interface: 'Records', method: 'Write', protocol: 'https://example.com/chat', protocolPath: 'thread/message', schema: 'https://example.com/message', recipient: 'did:key:z6Mk', parentId: 'bafyrei', dataCid: 'bafkrei', dataSize: 123, dateCreated: '2024-01-02T03:04:05.000000Z', messageTimestamp: '2024-01-02T03:04:05.000000Z', published: true, dataFormat: 'application/json' },
  { a: 1, bb: -1, ccc: 4294967296, d: -4294967297, e: false, f: null, g: [1, 'x', { z: 0, y: 24, xx: 255, w: 256, v: 65535, u: 65536 }], é: 'ünïcödé ✓', '': 'empty key', h: 1.5, i: -0.25, j: 23, k: -24, l: -25 },
  { filter: { protocol: 'p', dateCreated: { from: 'a', to: 'b' } }, pagination: { limit: 10, cursor: 'c' }, dateSort: 'createdAscending' },
  { long: 'x'.repeat(300), arr: Array.from({ length: 30 }, (_, i) => i * 1000) },
];
const cborVectors = [];
for (const o of objs) cborVectors.push({ value: o, ...(await computeCid(o)) });
console.log(JSON.stringify({
  description: 'CIDs computed with @ipld/dag-cbor 9.0.3, multiformats 11.0.2 and ipfs-unixfs-importer 15.1.5 (the versions @tbd54566975/dwn-sdk-js 0.5.2 depends on) the way dwn-sdk-js src/utils/cid.ts does (computeCid: dag-cbor + sha256 CIDv1; computeDagPbCid: importer with cidVersion 1). data(n)[i] = (i*31+7) & 0xff.',
  data: dataVectors, dagCbor: cborVectors }, null, 1));
