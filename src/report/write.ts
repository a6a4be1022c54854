/**
 * `--output FILE`: write a report so that readers see either the old file or the complete new
 * one, never half of it, and never overwrite one of the files being checked.
 */
import { randomBytes } from 'node:crypto';
import { open, realpath, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { writeSync, type Stats } from 'node:fs';
import path from 'node:path';
import { ioReason, ToolError } from '../errors.js';

/**
 * Write `content` to `file` atomically: a uniquely named temp file in the same directory is
 * written, fsynced and renamed over `file`. On any failure the temp file is removed and an
 * existing `file` is left as it was; the failure is thrown as a ToolError.
 *
 * If `file` is a symlink, the file it points to is replaced (the link stays a link). An
 * existing file keeps its permission bits.
 *
 * Refuses (ToolError) when `file` is one of `inputs` — compared by real path and, when both
 * exist, by device and inode, so symlinks, `..` and hard links are all caught.
 */
export async function writeOutputAtomic(file: string, content: string, inputs: readonly string[]): Promise<void> {
  const out = await openOutputAtomic(file, inputs);
  await out.write(content);
  await out.commit();
}

/** A streamed `--output`: chunks go to the temp file; `commit` renames it into place. */
export interface AtomicOutput {
  write(chunk: string | Uint8Array): Promise<void>;
  /** fsync, rename over the target. On failure the temp file is removed (ToolError). */
  commit(): Promise<void>;
  /** Drop the temp file; the target stays as it was. */
  abort(): Promise<void>;
}

/**
 * Open `file` for an atomic streamed write (same rules as writeOutputAtomic): for outputs too
 * large to build in memory first, such as `emulate --format jsonl` of a long trace.
 */
export async function openOutputAtomic(file: string, inputs: readonly string[]): Promise<AtomicOutput> {
  const target = await resolveTarget(file);
  await refuseInput(file, target, inputs);
  if (target.stats?.isDirectory()) throw new ToolError(`cannot write output to ${file}: it is a directory`);
  // A device, FIFO or socket (`-o /dev/null`, `-o /dev/stdout` on a pipe) is written in place, as a
  // shell redirection would: renaming a temp file over it would replace the device node itself.
  if (target.stats !== undefined && !target.stats.isFile()) return openDirect(file, target.real);

  const dir = path.dirname(target.real);
  const tmp = path.join(dir, `.${path.basename(target.real)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: FileHandle | undefined;
  const fail = async (err: unknown): Promise<never> => {
    if (handle !== undefined) await handle.close().catch(() => undefined);
    handle = undefined;
    await unlink(tmp).catch(() => undefined);
    throw new ToolError(`cannot write output to ${file}: ${ioReason(err)}`);
  };
  try {
    handle = await open(tmp, 'wx', 0o666);
    if (target.stats !== undefined) await handle.chmod(target.stats.mode & 0o777);
  } catch (err) {
    return fail(err);
  }
  return {
    write: (chunk) => writeChunk(file, handle, chunk, fail, true),
    async commit() {
      try {
        await handle!.sync();
        await handle!.close();
        handle = undefined;
        await rename(tmp, target.real);
      } catch (err) {
        await fail(err);
      }
      await syncDirectory(dir);
    },
    async abort() {
      if (handle !== undefined) await handle.close().catch(() => undefined);
      handle = undefined;
      await unlink(tmp).catch(() => undefined);
    },
  };
}

/**
 * One chunk of a streamed output; a failure goes through the output's own `fail` (cleanup +
 * ToolError). With `sync`, the bytes are written at once with `writeSync` (the temp file, a
 * regular file: a write lands in the page cache in microseconds, as stdout's writes to a file do).
 * An asynchronous write goes through the thread pool and needs a turn of the event loop to start
 * the next, so the 64 KiB chunks of a long run queued up behind the work between those turns.
 */
async function writeChunk(
  file: string,
  handle: FileHandle | undefined,
  chunk: string | Uint8Array,
  fail: (err: unknown) => Promise<never>,
  sync = false,
): Promise<void> {
  if (handle === undefined) throw new ToolError(`cannot write output to ${file}: already closed`);
  try {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    // A write may take fewer bytes than given (a pipe, a signal): write the rest.
    for (let off = 0; off < bytes.byteLength; ) {
      const n = sync ? writeSync(handle.fd, bytes, off, bytes.byteLength - off) : (await handle.write(bytes, off, bytes.byteLength - off)).bytesWritten;
      if (n <= 0) throw new Error('the write made no progress');
      off += n;
    }
  } catch (err) {
    await fail(err);
  }
}

/** Write straight into a non-regular file (no temp file, nothing to roll back). */
async function openDirect(file: string, real: string): Promise<AtomicOutput> {
  let handle: FileHandle | undefined;
  const fail = async (err: unknown): Promise<never> => {
    if (handle !== undefined) await handle.close().catch(() => undefined);
    handle = undefined;
    throw new ToolError(`cannot write output to ${file}: ${ioReason(err)}`);
  };
  try {
    handle = await open(real, 'w');
  } catch (err) {
    return fail(err);
  }
  return {
    write: (chunk) => writeChunk(file, handle, chunk, fail),
    async commit() {
      try {
        await handle?.close();
        handle = undefined;
      } catch (err) {
        await fail(err);
      }
    },
    async abort() {
      await handle?.close().catch(() => undefined);
      handle = undefined;
    },
  };
}

interface Target {
  /** Where the bytes will go: the real path when `file` exists, else its resolved path. */
  real: string;
  stats?: Stats;
}

async function resolveTarget(file: string): Promise<Target> {
  const abs = path.resolve(file);
  try {
    const real = await realpath(abs);
    return { real, stats: await stat(real) };
  } catch (err) {
    if (!isNotFound(err)) throw new ToolError(`cannot write output to ${file}: ${ioReason(err)}`);
  }
  // realpath fails on a link to something that is not a path (`/dev/stdout` → `/proc/self/fd/1` →
  // `pipe:[…]`), while stat follows it: that is no new file to create, but a pipe or device.
  try {
    const stats = await stat(abs);
    if (!stats.isFile()) return { real: abs, stats };
  } catch {
    // really not there
  }
  // Not there yet: resolve the directory, so `link-to-dir/x` compares equal to `dir/x`.
  let dir = path.dirname(abs);
  try {
    dir = await realpath(dir);
  } catch {
    // A missing directory makes open() fail below with a clear message.
  }
  return { real: path.join(dir, path.basename(abs)) };
}

async function refuseInput(file: string, target: Target, inputs: readonly string[]): Promise<void> {
  for (const input of inputs) {
    const abs = path.resolve(input);
    let real = abs;
    let stats: Stats | undefined;
    try {
      real = await realpath(abs);
      stats = await stat(real);
    } catch {
      // An input that is gone can only match by name.
    }
    const sameName = real === target.real || abs === target.real;
    const sameInode =
      stats !== undefined && target.stats !== undefined && stats.dev === target.stats.dev && stats.ino === target.stats.ino;
    if (sameName || sameInode) {
      throw new ToolError(`refusing to write output to ${file}: it is one of the input files`);
    }
  }
}

/** Make the rename itself durable. Best effort: not every platform can fsync a directory. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // ignore
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
