// Computes every vector of ../cid.json with Helia's UnixFS importer (ipfs-unixfs-importer,
// the engine behind @helia/unixfs) using Kubo's `ipfs add --cid-version=1` settings:
// raw leaves, fixed 262144-byte chunks, balanced layout with 174 links per node.
//
//   node cid-helia.mjs          check: exit 1 if any vector's "cid" differs
//   node cid-helia.mjs --write  fill in each vector's "cid" from Helia
import { readFileSync, writeFileSync } from 'node:fs'
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { MemoryBlockstore } from 'blockstore-core/memory'

const path = new URL('../cid.json', import.meta.url)
const doc = JSON.parse(readFileSync(path, 'utf8'))

function bytesOf (data) {
  if ('utf8' in data) return new TextEncoder().encode(data.utf8)
  if ('hex' in data) return Uint8Array.from(Buffer.from(data.hex, 'hex'))
  const m = /^byte i = i % (\d+)$/.exec(data.pattern)
  if (!m) throw new Error(`unknown pattern ${data.pattern}`)
  const k = Number(m[1]); const out = new Uint8Array(data.length)
  for (let i = 0; i < out.length; i++) out[i] = i % k
  return out
}

async function helia (bytes) {
  const options = {
    cidVersion: 1,
    rawLeaves: true,
    reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize: 262144 }),
    layout: balanced({ maxChildrenPerNode: 174 })
  }
  let last
  for await (const entry of importer([{ content: bytes }], new MemoryBlockstore(), options)) last = entry
  return last.cid.toString()
}

const write = process.argv.includes('--write')
let bad = 0
for (const v of doc.vectors) {
  const cid = await helia(bytesOf(v.data))
  const ok = v.cid === cid
  if (write) v.cid = cid
  else if (!ok) bad++
  console.log(`${write || ok ? 'ok  ' : 'DIFF'} ${v.name}: ${cid}${write || ok ? '' : ` (vector says ${v.cid})`}`)
}
if (write) writeFileSync(path, JSON.stringify(doc, null, 1) + '\n')
console.log(`${doc.vectors.length - bad} passed, ${bad} failed`)
process.exit(bad ? 1 : 0)
