/**
 * What the relay keeps for viewers that connect later, capped in bytes: the root actor's messages
 * (its definition and its moves from stage to stage, a few dozen per run) are kept up to their own
 * cap, the stage actors' (a few per step) drop oldest first once past theirs. A late viewer then
 * still sees the machine, every transition and the latest state of each stage's steps.
 */
export const MAX_ROOT_BYTES = 4 * 1024 * 1024;
export const MAX_CHILD_BYTES = 16 * 1024 * 1024;

interface Entry {
  seq: number;
  text: string;
}

class CappedQueue {
  private readonly entries: Entry[] = [];
  private head = 0;
  private bytes = 0;

  constructor(private readonly cap: number) {}

  push(entry: Entry): void {
    this.entries.push(entry);
    this.bytes += entry.text.length;
    while (this.bytes > this.cap && this.head < this.entries.length - 1) {
      this.bytes -= this.entries[this.head]!.text.length;
      this.entries[this.head++] = undefined as unknown as Entry;
    }
    // Drop the spent front now and then, not at every push.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
  }

  live(): Entry[] {
    return this.entries.slice(this.head);
  }

  get size(): number {
    return this.bytes;
  }
}

export class MessageBuffer {
  private seq = 0;
  private readonly root: CappedQueue;
  private readonly children: CappedQueue;

  constructor(rootCap = MAX_ROOT_BYTES, childCap = MAX_CHILD_BYTES) {
    this.root = new CappedQueue(rootCap);
    this.children = new CappedQueue(childCap);
  }

  push(text: string, isRoot: boolean): void {
    (isRoot ? this.root : this.children).push({ seq: this.seq++, text });
  }

  /** The kept messages, in the order they came. */
  messages(): string[] {
    const root = this.root.live();
    const children = this.children.live();
    const out: string[] = [];
    let i = 0;
    let j = 0;
    while (i < root.length || j < children.length) {
      if (j >= children.length || (i < root.length && root[i]!.seq < children[j]!.seq)) out.push(root[i++]!.text);
      else out.push(children[j++]!.text);
    }
    return out;
  }

  /** Characters held (the messages are JSON, mostly ASCII: about their bytes). */
  get size(): number {
    return this.root.size + this.children.size;
  }
}
