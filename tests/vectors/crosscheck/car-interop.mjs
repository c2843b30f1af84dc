// CAR interoperability between din and the JavaScript IPFS stack (@ipld/car + Helia's
// UnixFS importer/exporter), driven by din-core/tests/ipfs_interop.rs:
//
//   node car-interop.mjs make  DIR   import a 1,000,000-byte blob (byte i = i % 251) with
//                                    Helia's importer, write DIR/helia.car with @ipld/car
//   node car-interop.mjs check FILE  read a CAR written by din with @ipld/car, verify every
//                                    block's hash, reassemble the root with Helia's exporter,
//                                    compare with the same blob; prints the root CID
import { createReadStream, createWriteStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { CarReader, CarWriter } from '@ipld/car'
import { importer } from 'ipfs-unixfs-importer'
import { exporter } from 'ipfs-unixfs-exporter'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { sha256 } from 'multiformats/hashes/sha2'

const blob = Uint8Array.from({ length: 1000000 }, (_, i) => i % 251)
const [mode, path] = process.argv.slice(2)

if (mode === 'make') {
  // A blockstore that records what the importer writes, codecs included.
  const blocks = new Map()
  const store = {
    put: async (cid, bytes) => { blocks.set(cid.toString(), { cid, bytes }); return cid },
    has: async (cid) => blocks.has(cid.toString())
  }
  let root
  for await (const e of importer([{ content: blob }], store, {
    cidVersion: 1, rawLeaves: true, reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize: 262144 }), layout: balanced({ maxChildrenPerNode: 174 })
  })) root = e.cid
  const { writer, out } = CarWriter.create([root])
  const done = new Promise((resolve, reject) => {
    Readable.from(out).pipe(createWriteStream(`${path}/helia.car`)).on('finish', resolve).on('error', reject)
  })
  for (const { cid, bytes } of blocks.values()) await writer.put({ cid, bytes })
  await writer.close()
  await done
  console.log(root.toString())
} else if (mode === 'check') {
  const reader = await CarReader.fromBytes(await readFile(path))
  const [root] = await reader.getRoots()
  const store = new MemoryBlockstore()
  for await (const { cid, bytes } of reader.blocks()) {
    const digest = await sha256.digest(bytes)
    if (Buffer.compare(Buffer.from(digest.digest), Buffer.from(cid.multihash.digest)) !== 0) {
      throw new Error(`block ${cid} does not match its hash`)
    }
    await store.put(cid, bytes)
  }
  const file = await exporter(root, store)
  const chunks = []
  for await (const c of file.content()) chunks.push(c)
  const got = Buffer.concat(chunks)
  if (Buffer.compare(got, Buffer.from(blob)) !== 0) throw new Error(`content of ${root} differs`)
  console.log(root.toString())
} else {
  console.error('usage: car-interop.mjs make DIR | check FILE')
  process.exit(2)
}
