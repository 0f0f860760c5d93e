// Drives the JobPilot test Storage server with Supabase's official client, @supabase/storage-js,
// through every operation the Rust client offers, and checks each answer (data and error shapes).
// Prints one JSON line per check; exits 1 when any check failed.
//
// Env: STORAGE_URL (the storage root, http://127.0.0.1:PORT/storage/v1), SERVICE_KEY, ANON_KEY,
// USER_ID and USER_JWT (a signed-in user), OTHER_USER_ID. The database has policies on
// storage.objects letting a user read and write only `user-docs/<own uid>/…` (see storage_js.rs).
import { StorageClient } from '@supabase/storage-js'
import { createHash } from 'node:crypto'

const env = (name) => {
  const value = process.env[name]
  if (!value) {
    console.error(`fidelity.mjs: ${name} is not set`)
    process.exit(2)
  }
  return value
}
const STORAGE_URL = env('STORAGE_URL')
const SERVICE_KEY = env('SERVICE_KEY')
const ANON_KEY = env('ANON_KEY')
const USER_ID = env('USER_ID')
const USER_JWT = env('USER_JWT')
const OTHER_USER_ID = env('OTHER_USER_ID')

const client = (key) =>
  new StorageClient(STORAGE_URL, key ? { Authorization: `Bearer ${key}`, apikey: key } : {})
const admin = client(SERVICE_KEY)
const user = client(USER_JWT)
const anon = client(ANON_KEY)

let failures = 0
const results = []
async function check(name, fn) {
  try {
    const detail = await fn()
    results.push({ check: name, ok: true })
    console.log(JSON.stringify({ check: name, ok: true, ...(detail ? { detail } : {}) }))
  } catch (e) {
    failures++
    console.log(JSON.stringify({ check: name, ok: false, error: String(e?.stack ?? e) }))
  }
}
function assert(cond, message) {
  if (!cond) throw new Error(message)
}
function eq(actual, expected, what) {
  const a = JSON.stringify(actual)
  const b = JSON.stringify(expected)
  if (a !== b) throw new Error(`${what}: expected ${b}, got ${a}`)
}
function ok({ data, error }, what) {
  if (error) throw new Error(`${what}: unexpected error ${JSON.stringify(error)} (${error.message})`)
  return data
}
// An API error as storage-js reports it: StorageApiError, HTTP 400, the real status in statusCode.
function apiError({ data, error }, statusCode, code, what) {
  assert(error, `${what}: expected an error, got data ${JSON.stringify(data)}`)
  eq(error.name, 'StorageApiError', `${what}: error class`)
  eq(error.statusCode, statusCode, `${what}: statusCode`)
  if (code) eq(error.code, code, `${what}: code`)
  return error
}
const text = async (blob) => Buffer.from(await blob.arrayBuffer()).toString('utf8')
const sha = (bytes) => createHash('sha256').update(bytes).digest('hex')
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

const PRIVATE = 'fidelity-private'
const PUBLIC = 'fidelity-public'
const LIMITED = 'fidelity-limited'
const USER_DOCS = 'user-docs'

// ------------------------------------------------------------------ buckets
await check('createBucket (private, public, limited, user-docs)', async () => {
  eq(ok(await admin.createBucket(PRIVATE), 'create private'), { name: PRIVATE }, 'create answer')
  ok(await admin.createBucket(PUBLIC, { public: true }), 'create public')
  ok(
    await admin.createBucket(LIMITED, {
      public: false,
      fileSizeLimit: 1024,
      allowedMimeTypes: ['image/*', 'text/plain'],
    }),
    'create limited'
  )
  ok(await admin.createBucket(USER_DOCS), 'create user-docs')
})
await check('createBucket duplicate → 409', async () => {
  apiError(await admin.createBucket(PRIVATE), '409', 'BucketAlreadyExists', 'duplicate bucket')
})
await check('createBucket as a user (no bucket policy) → 403', async () => {
  const error = apiError(await user.createBucket('user-made'), '403', 'AccessDenied', 'user bucket')
  assert(/row-level security/.test(error.message), `message: ${error.message}`)
})
await check('getBucket', async () => {
  const bucket = ok(await admin.getBucket(LIMITED), 'getBucket')
  eq(
    [bucket.id, bucket.name, bucket.public, bucket.file_size_limit, bucket.allowed_mime_types],
    [LIMITED, LIMITED, false, 1024, ['image/*', 'text/plain']],
    'bucket fields'
  )
  assert(!Number.isNaN(Date.parse(bucket.created_at)), `created_at ${bucket.created_at}`)
  apiError(await admin.getBucket('no-such-bucket'), '404', 'NoSuchBucket', 'missing bucket')
})
await check('listBuckets (and options)', async () => {
  const names = ok(await admin.listBuckets(), 'listBuckets').map((b) => b.name)
  for (const n of [PRIVATE, PUBLIC, LIMITED, USER_DOCS]) assert(names.includes(n), `${n} in ${names}`)
  const page = ok(await admin.listBuckets({ limit: 2, offset: 1, sortColumn: 'name', sortOrder: 'asc' }), 'page')
  eq(page.map((b) => b.name), [PRIVATE, PUBLIC], 'limit/offset page')
  const found = ok(await admin.listBuckets({ search: 'pub' }), 'search')
  eq(found.map((b) => b.name), [PUBLIC], 'search')
  eq(ok(await anon.listBuckets(), 'anon listBuckets'), [], 'anon sees no bucket (RLS)')
})
await check('updateBucket', async () => {
  eq(
    ok(await admin.updateBucket(PRIVATE, { public: false, fileSizeLimit: '8MB' }), 'updateBucket'),
    { message: 'Successfully updated' },
    'answer'
  )
  eq(ok(await admin.getBucket(PRIVATE), 'get').file_size_limit, 8388608, 'limit after update')
  apiError(await admin.updateBucket('no-such-bucket', { public: true }), '404', 'NoSuchBucket', 'missing')
})

// ------------------------------------------------------------------ upload / download
const files = admin.from(PRIVATE)
await check('upload (string, content type) and download', async () => {
  const data = ok(
    await files.upload('docs/hello.txt', 'hello world', { contentType: 'text/plain' }),
    'upload'
  )
  eq([data.path, data.fullPath], ['docs/hello.txt', `${PRIVATE}/docs/hello.txt`], 'upload answer')
  assert(/^[0-9a-f-]{36}$/.test(data.id), `id ${data.id}`)
  const blob = ok(await files.download('docs/hello.txt'), 'download')
  eq(await text(blob), 'hello world', 'content')
  eq(blob.type, 'text/plain', 'content type')
})
await check('upload duplicate without upsert → 409 KeyAlreadyExists', async () => {
  const error = apiError(
    await files.upload('docs/hello.txt', 'again', { contentType: 'text/plain' }),
    '409',
    'KeyAlreadyExists',
    'duplicate'
  )
  eq(error.status, 400, 'HTTP status')
  eq(error.message, 'The resource already exists', 'message')
})
await check('upload with upsert overwrites', async () => {
  ok(await files.upload('docs/hello.txt', 'hello again', { contentType: 'text/plain', upsert: true }), 'upsert')
  eq(await text(ok(await files.download('docs/hello.txt'), 'download')), 'hello again', 'content')
})
await check('update (PUT) replaces', async () => {
  const data = ok(await files.update('docs/hello.txt', 'updated', { contentType: 'text/plain' }), 'update')
  eq(data.path, 'docs/hello.txt', 'path')
  eq(await text(ok(await files.download('docs/hello.txt'), 'download')), 'updated', 'content')
})
await check('upload Blob (multipart/form-data) with metadata', async () => {
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3])
  ok(
    await files.upload('images/dot.png', new Blob([png], { type: 'image/png' }), {
      cacheControl: '60',
      metadata: { owner: 'fidelity' },
    }),
    'upload blob'
  )
  const blob = ok(await files.download('images/dot.png'), 'download')
  eq(blob.type, 'image/png', 'content type')
  eq([...new Uint8Array(await blob.arrayBuffer())], [...png], 'bytes')
  const info = ok(await files.info('images/dot.png'), 'info')
  eq([info.size, info.contentType, info.cacheControl], [png.length, 'image/png', 'max-age=60'], 'info')
  eq(info.metadata, { owner: 'fidelity' }, 'user metadata')
})
await check('upload a ReadableStream (streamed, chunked) and download asStream', async () => {
  const chunks = Array.from({ length: 64 }, (_, i) => Buffer.alloc(64 * 1024, i))
  const whole = Buffer.concat(chunks)
  let i = 0
  const stream = new ReadableStream({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(new Uint8Array(chunks[i++]))
      else controller.close()
    },
  })
  ok(await files.upload('big/stream.bin', stream, { contentType: 'application/octet-stream' }), 'upload')
  const body = ok(await files.download('big/stream.bin').asStream(), 'asStream')
  const parts = []
  for await (const part of body) parts.push(Buffer.from(part))
  eq(sha(Buffer.concat(parts)), sha(whole), 'sha256 of 4 MiB')
})
await check('upload with x-metadata header (raw body) and info/exists', async () => {
  ok(
    await files.upload('docs/meta.json', Buffer.from('{"a":1}'), {
      contentType: 'application/json',
      metadata: { tag: 'x' },
    }),
    'upload'
  )
  const info = ok(await files.info('docs/meta.json'), 'info')
  eq([info.name, info.bucketId, info.size, info.contentType], ['docs/meta.json', PRIVATE, 7, 'application/json'], 'info')
  eq(info.metadata, { tag: 'x' }, 'metadata')
  assert(/^"[0-9a-f]{32}"$/.test(info.etag), `etag ${info.etag}`)
  eq(ok(await files.exists('docs/meta.json'), 'exists'), true, 'exists')
  const missing = await files.exists('docs/nope.json')
  eq(missing.data, false, 'missing exists')
})
await check('download missing → 404 NoSuchKey', async () => {
  const error = apiError(await files.download('docs/nope.txt'), '404', 'NoSuchKey', 'missing')
  eq(error.message, 'Object not found', 'message')
  apiError(await files.info('docs/nope.txt'), '404', 'NoSuchKey', 'info of missing')
})

// ------------------------------------------------------------------ public bucket
await check('public URL download needs no auth (public bucket only)', async () => {
  ok(await admin.from(PUBLIC).upload('pics/a.txt', 'public bytes', { contentType: 'text/plain' }), 'upload')
  const { data } = admin.from(PUBLIC).getPublicUrl('pics/a.txt')
  const res = await fetch(data.publicUrl)
  eq([res.status, await res.text()], [200, 'public bytes'], 'public fetch')
  const priv = await fetch(files.getPublicUrl('docs/hello.txt').data.publicUrl)
  eq(priv.status, 400, 'private bucket public URL status')
  eq((await priv.json()).statusCode, '404', 'private bucket public URL statusCode')
})

// ------------------------------------------------------------------ signed URLs
await check('createSignedUrl + fetch (and download=)', async () => {
  const { signedUrl } = ok(await files.createSignedUrl('docs/hello.txt', 60), 'sign')
  assert(signedUrl.startsWith(`${STORAGE_URL}/object/sign/${PRIVATE}/docs/hello.txt?token=`), signedUrl)
  const res = await fetch(signedUrl)
  eq([res.status, await res.text()], [200, 'updated'], 'signed fetch')
  const dl = ok(await files.createSignedUrl('docs/hello.txt', 60, { download: 'x.txt' }), 'sign download')
  const res2 = await fetch(dl.signedUrl)
  assert(/attachment/.test(res2.headers.get('content-disposition') ?? ''), 'content-disposition')
  apiError(await files.createSignedUrl('docs/nope.txt', 60), '404', 'NoSuchKey', 'sign missing')
})
await check('signed URL expires → InvalidJWT; tampered → refused', async () => {
  const { signedUrl } = ok(await files.createSignedUrl('docs/hello.txt', 1), 'sign')
  const tampered = await fetch(signedUrl.replace(/token=(.{10})/, 'token=$1x'))
  eq(tampered.status, 400, 'tampered status')
  eq((await tampered.json()).code, 'InvalidJWT', 'tampered code')
  await sleep(2100)
  const res = await fetch(signedUrl)
  eq(res.status, 400, 'expired status')
  const body = await res.json()
  eq([body.statusCode, body.code, body.message], ['400', 'InvalidJWT', 'jwt expired'], 'expired body')
})
await check('createSignedUrls (one missing path)', async () => {
  const data = ok(await files.createSignedUrls(['docs/hello.txt', 'docs/nope.txt'], 60), 'sign many')
  eq(data.length, 2, 'entries')
  eq([data[0].path, data[0].error], ['docs/hello.txt', null], 'first')
  eq(await (await fetch(data[0].signedUrl)).text(), 'updated', 'first fetch')
  eq([data[1].path, data[1].signedUrl], ['docs/nope.txt', null], 'second')
  assert(data[1].error, 'second has an error')
})
await check('createSignedUploadUrl + uploadToSignedUrl', async () => {
  const signed = ok(await files.createSignedUploadUrl('uploads/signed.txt'), 'sign upload')
  assert(signed.token && signed.signedUrl.includes('/object/upload/sign/'), JSON.stringify(signed))
  const up = ok(
    await files.uploadToSignedUrl('uploads/signed.txt', signed.token, 'via signed url', {
      contentType: 'text/plain',
    }),
    'upload to signed'
  )
  eq(up.fullPath, `${PRIVATE}/uploads/signed.txt`, 'fullPath')
  eq(await text(ok(await files.download('uploads/signed.txt'), 'download')), 'via signed url', 'content')
  apiError(await files.createSignedUploadUrl('uploads/signed.txt'), '409', 'KeyAlreadyExists', 'existing')
  ok(await files.createSignedUploadUrl('uploads/signed.txt', { upsert: true }), 'existing with upsert')
  const bad = await files.uploadToSignedUrl('uploads/other.txt', signed.token, 'x')
  apiError(bad, '400', undefined, 'token for another path')
})

// ------------------------------------------------------------------ list
await check('list by prefix, limit/offset, sort, search; folders have id null', async () => {
  for (const name of ['a.txt', 'b.txt', 'c.txt', 'sub/d.txt']) {
    ok(await files.upload(`folder/${name}`, name, { contentType: 'text/plain' }), `upload ${name}`)
  }
  const all = ok(await files.list('folder'), 'list')
  eq(all.map((e) => e.name), ['a.txt', 'b.txt', 'c.txt', 'sub'], 'names')
  eq(all[3].id, null, 'folder id')
  eq(all[3].metadata, null, 'folder metadata')
  assert(all[0].id && all[0].metadata?.size === 5 && all[0].metadata?.mimetype === 'text/plain', JSON.stringify(all[0]))
  const page = ok(await files.list('folder/', { limit: 2, offset: 1 }), 'page')
  eq(page.map((e) => e.name), ['b.txt', 'c.txt'], 'page')
  const desc = ok(await files.list('folder', { sortBy: { column: 'name', order: 'desc' } }), 'desc')
  eq(desc.map((e) => e.name), ['sub', 'c.txt', 'b.txt', 'a.txt'], 'desc')
  const search = ok(await files.list('folder', { search: 'b' }), 'search')
  eq(search.map((e) => e.name), ['b.txt'], 'search')
  const root = ok(await files.list(), 'root')
  for (const n of ['docs', 'folder', 'images', 'big', 'uploads']) {
    assert(root.some((e) => e.name === n && e.id === null), `root folder ${n}`)
  }
})
await check('listV2 with delimiter and cursor', async () => {
  const first = ok(await files.listV2({ prefix: 'folder/', with_delimiter: true, limit: 2 }), 'listV2')
  eq(first.hasNext, true, 'hasNext')
  eq(first.objects.map((o) => o.name), ['folder/a.txt', 'folder/b.txt'], 'first page')
  const second = ok(
    await files.listV2({ prefix: 'folder/', with_delimiter: true, limit: 2, cursor: first.nextCursor }),
    'second page'
  )
  eq(second.objects.map((o) => o.name), ['folder/c.txt'], 'second page objects')
  eq(second.folders.map((f) => f.name), ['folder/sub/'], 'second page folders')
  eq(second.hasNext, false, 'no more')
})

// ------------------------------------------------------------------ move / copy / remove
await check('move', async () => {
  eq(ok(await files.move('folder/a.txt', 'moved/a.txt'), 'move'), { message: 'Successfully moved' }, 'answer')
  eq(await text(ok(await files.download('moved/a.txt'), 'download moved')), 'a.txt', 'content')
  apiError(await files.download('folder/a.txt'), '404', 'NoSuchKey', 'source gone')
  apiError(await files.move('folder/nope.txt', 'moved/nope.txt'), '404', 'NoSuchKey', 'move missing')
})
await check('copy (same bucket and to another bucket)', async () => {
  eq(ok(await files.copy('folder/b.txt', 'copied/b.txt'), 'copy'), { path: `${PRIVATE}/copied/b.txt` }, 'answer')
  eq(await text(ok(await files.download('copied/b.txt'), 'download copy')), 'b.txt', 'copy content')
  eq(await text(ok(await files.download('folder/b.txt'), 'download source')), 'b.txt', 'source stays')
  ok(await files.copy('folder/b.txt', 'elsewhere/b.txt', { destinationBucket: PUBLIC }), 'cross-bucket copy')
  eq(await text(ok(await admin.from(PUBLIC).download('elsewhere/b.txt'), 'download')), 'b.txt', 'cross content')
  apiError(await files.copy('folder/b.txt', 'copied/b.txt'), '409', 'KeyAlreadyExists', 'copy onto existing')
})
await check('remove many', async () => {
  const removed = ok(await files.remove(['folder/b.txt', 'folder/c.txt', 'folder/nope.txt']), 'remove')
  eq(removed.map((o) => o.name).sort(), ['folder/b.txt', 'folder/c.txt'], 'removed rows')
  eq(ok(await files.list('folder'), 'list').map((e) => e.name), ['sub'], 'left')
})

// ------------------------------------------------------------------ limits
await check('bucket limits: MIME type and size', async () => {
  const limited = admin.from(LIMITED)
  ok(await limited.upload('ok.png', new Blob([new Uint8Array(100)], { type: 'image/png' })), 'allowed')
  apiError(
    await limited.upload('x.pdf', Buffer.from('%PDF'), { contentType: 'application/pdf' }),
    '415',
    'InvalidMimeType',
    'mime'
  )
  apiError(
    await limited.upload('big.png', new Blob([new Uint8Array(4096)], { type: 'image/png' })),
    '413',
    'EntityTooLarge',
    'size (multipart)'
  )
  apiError(
    await limited.upload('big.txt', Buffer.alloc(4096), { contentType: 'text/plain' }),
    '413',
    'EntityTooLarge',
    'size (raw)'
  )
})

// ------------------------------------------------------------------ auth
await check('no Authorization header → 400 with fastify message', async () => {
  const error = apiError(await client(null).listBuckets(), '400', undefined, 'no auth')
  eq(error.message, "headers must have required property 'authorization'", 'message')
})
await check('bad JWT → 403 AccessDenied', async () => {
  apiError(await client('not.a.jwt').listBuckets(), '403', 'AccessDenied', 'bad jwt')
  const forged = SERVICE_KEY.slice(0, -4) + (SERVICE_KEY.endsWith('AAAA') ? 'BBBB' : 'AAAA')
  apiError(await client(forged).from(PRIVATE).download('docs/hello.txt'), '403', 'AccessDenied', 'forged')
})
await check('RLS as a user: own folder yes, other folder no', async () => {
  const docs = user.from(USER_DOCS)
  ok(await docs.upload(`${USER_ID}/mine.txt`, 'mine', { contentType: 'text/plain' }), 'own upload')
  eq(await text(ok(await docs.download(`${USER_ID}/mine.txt`), 'own download')), 'mine', 'own content')
  const denied = apiError(
    await docs.upload(`${OTHER_USER_ID}/theirs.txt`, 'x', { contentType: 'text/plain' }),
    '403',
    'AccessDenied',
    'other folder upload'
  )
  assert(/row-level security/.test(denied.message), `message: ${denied.message}`)
  ok(await admin.from(USER_DOCS).upload(`${OTHER_USER_ID}/secret.txt`, 's', { contentType: 'text/plain' }), 'admin')
  apiError(await docs.download(`${OTHER_USER_ID}/secret.txt`), '404', 'NoSuchKey', 'hidden download')
  eq(ok(await docs.list(OTHER_USER_ID), 'list other'), [], 'hidden list')
  eq(ok(await docs.list(USER_ID), 'list own').map((e) => e.name), ['mine.txt'], 'own list')
  apiError(await docs.createSignedUrl(`${OTHER_USER_ID}/secret.txt`, 60), '404', 'NoSuchKey', 'sign hidden')
  apiError(await docs.createSignedUploadUrl(`${OTHER_USER_ID}/x.txt`), '403', 'AccessDenied', 'signed upload other')
  apiError(
    await anon.from(USER_DOCS).upload('anon.txt', 'x', { contentType: 'text/plain' }),
    '403',
    'AccessDenied',
    'anon upload'
  )
  eq(ok(await docs.remove([`${OTHER_USER_ID}/secret.txt`]), 'remove hidden'), [], 'hidden not removed')
  ok(await admin.from(USER_DOCS).download(`${OTHER_USER_ID}/secret.txt`), 'still there')
})

// ------------------------------------------------------------------ empty / delete
await check('deleteBucket non-empty → 409; emptyBucket; deleteBucket', async () => {
  apiError(await admin.deleteBucket(PUBLIC), '409', 'ResourceNotEmpty', 'not empty')
  eq(ok(await admin.emptyBucket(PUBLIC), 'empty'), { message: 'Successfully emptied' }, 'empty answer')
  eq(ok(await admin.deleteBucket(PUBLIC), 'delete'), { message: 'Successfully deleted' }, 'delete answer')
  apiError(await admin.getBucket(PUBLIC), '404', 'NoSuchBucket', 'gone')
  apiError(await admin.deleteBucket(PUBLIC), '404', 'NoSuchBucket', 'delete again')
})

console.log(JSON.stringify({ summary: true, checks: results.length + failures, failed: failures }))
process.exit(failures ? 1 : 0)
