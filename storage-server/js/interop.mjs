// Cross-client check between @supabase/storage-js and the Rust Storage client, against the same
// server. Env: STORAGE_URL (the storage root), STORAGE_KEY (the bearer JWT).
//
//   node interop.mjs write <bucket> <prefix>   uploads <prefix>/from-js.txt and <prefix>/from-js.bin
//   node interop.mjs read  <bucket> <prefix>   checks <prefix>/from-rust.txt and <prefix>/from-rust.bin
//
// Exits 0 when all is well, 1 with a message on stderr otherwise (2: bad usage).
import { StorageClient } from '@supabase/storage-js'

const SIZE = 1024 * 1024
const pattern = (mul, add) => {
  const bytes = new Uint8Array(SIZE)
  for (let i = 0; i < SIZE; i++) bytes[i] = (i * mul + add) % 256
  return bytes
}
const fail = (message, code = 1) => {
  console.error(`interop.mjs: ${message}`)
  process.exit(code)
}

const [mode, bucket, prefix] = process.argv.slice(2)
if (!['write', 'read'].includes(mode) || !bucket || prefix === undefined) {
  fail('usage: node interop.mjs write|read <bucket> <prefix>', 2)
}
const url = process.env.STORAGE_URL
const key = process.env.STORAGE_KEY
if (!url || !key) fail('STORAGE_URL and STORAGE_KEY must be set', 2)

const files = new StorageClient(url, { Authorization: `Bearer ${key}`, apikey: key }).from(bucket)
const path = (name) => (prefix ? `${prefix}/${name}` : name)

if (mode === 'write') {
  const text = await files.upload(path('from-js.txt'), Buffer.from('hello from storage-js', 'utf8'), {
    contentType: 'text/plain',
    upsert: true,
  })
  if (text.error) fail(`uploading from-js.txt: ${text.error.message} (${JSON.stringify(text.error)})`)
  const bin = await files.upload(path('from-js.bin'), Buffer.from(pattern(31, 7)), {
    contentType: 'application/octet-stream',
    upsert: true,
  })
  if (bin.error) fail(`uploading from-js.bin: ${bin.error.message} (${JSON.stringify(bin.error)})`)
  console.log(JSON.stringify({ wrote: [text.data.fullPath, bin.data.fullPath] }))
} else {
  const text = await files.download(path('from-rust.txt'))
  if (text.error) fail(`downloading from-rust.txt: ${text.error.message} (${JSON.stringify(text.error)})`)
  const got = Buffer.from(await text.data.arrayBuffer()).toString('utf8')
  if (got !== 'hello from the rust client') fail(`from-rust.txt is ${JSON.stringify(got)}`)
  const bin = await files.download(path('from-rust.bin'))
  if (bin.error) fail(`downloading from-rust.bin: ${bin.error.message} (${JSON.stringify(bin.error)})`)
  const bytes = new Uint8Array(await bin.data.arrayBuffer())
  const want = pattern(17, 3)
  if (bytes.length !== want.length) fail(`from-rust.bin has ${bytes.length} bytes, want ${want.length}`)
  const at = bytes.findIndex((b, i) => b !== want[i])
  if (at !== -1) fail(`from-rust.bin differs at byte ${at}: ${bytes[at]} != ${want[at]}`)
  const listed = await files.list(prefix)
  if (listed.error) fail(`listing ${prefix}/: ${listed.error.message}`)
  const names = listed.data.map((e) => e.name)
  for (const name of ['from-rust.txt', 'from-rust.bin']) {
    if (!names.includes(name)) fail(`${name} is not in the listing of ${prefix}/: ${JSON.stringify(names)}`)
  }
  console.log(JSON.stringify({ read: [path('from-rust.txt'), path('from-rust.bin')], listed: names }))
}
