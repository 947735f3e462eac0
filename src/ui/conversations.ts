// Conversations kept in this browser (IndexedDB), one entry per chat about a document, so they can be
// read again after the tab closes. They are a record, not a resumable state: the model's context is
// rebuilt from the document, never from a saved chat.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { AnswerStats } from '../star/reader-api.ts';
import type { ChatMessage, SessionState } from './session.ts';

export interface SavedMessage {
  role: ChatMessage['role'];
  text: string;
  status: ChatMessage['status'];
  stats?: AnswerStats;
}

export interface SavedConversation {
  /** `${documentKey}@${startedAt}`. */
  id: string;
  documentKey: string;
  documentName: string;
  startedAt: number;
  updatedAt: number;
  messages: SavedMessage[];
}

const databaseName = 'star-reader';
const storeName = 'conversations';

/** FNV-1a (32-bit, twice with different seeds) over the text, with its length: the same text, the same key. */
export function documentKey(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 13);
  }
  return `${text.length.toString(36)}-${(a >>> 0).toString(36)}${(b >>> 0).toString(36)}`;
}

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(databaseName, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(storeName, { keyPath: 'id' });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB did not open'));
  });
}

async function withStore<T>(mode: IDBTransactionMode, act: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const request = act(db.transaction(storeName, mode).objectStore(storeName));
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'));
    });
  } finally {
    db.close();
  }
}

export const conversationStore = {
  list: () => withStore<SavedConversation[]>('readonly', (s) => s.getAll() as IDBRequest<SavedConversation[]>),
  put: (conversation: SavedConversation) => withStore('readwrite', (s) => s.put(conversation)),
  remove: (id: string) => withStore('readwrite', (s) => s.delete(id)),
};

const saved = (m: ChatMessage): SavedMessage => ({ role: m.role, text: m.text, status: m.status, stats: m.stats });

export interface ConversationArchive {
  /** Newest first; undefined until read (or where IndexedDB is unavailable). */
  conversations: SavedConversation[] | undefined;
  /** The key of the document on screen. */
  currentKey: string | undefined;
  remove: (id: string) => void;
}

/**
 * Saves the chat on screen whenever it settles (no answer streaming), as one conversation from its
 * first question until it is cleared or the document changes; lists every saved one.
 */
export function useConversationArchive(state: SessionState): ConversationArchive {
  const [conversations, setConversations] = useState<SavedConversation[]>();
  const startedAt = useRef<number>(undefined);
  const refresh = useCallback(() => {
    conversationStore
      .list()
      .then((all) => setConversations(all.sort((a, b) => b.updatedAt - a.updatedAt)))
      .catch(() => setConversations(undefined));
  }, []);
  useEffect(refresh, [refresh]);

  const { document, messages } = state;
  // Hashing a long text takes a while: once per text, not per render.
  const text = document?.text;
  const currentKey = useMemo(() => (text === undefined ? undefined : documentKey(text)), [text]);
  const name = document?.name ?? '';
  const settled = messages.length > 0 && messages.every((m) => m.status !== 'streaming');
  useEffect(() => {
    // A new document or a cleared chat empties the messages: the next question starts a new conversation.
    if (messages.length === 0) startedAt.current = undefined;
    if (!settled || currentKey === undefined) return;
    startedAt.current ??= Date.now();
    const entry: SavedConversation = {
      id: `${currentKey}@${startedAt.current}`,
      documentKey: currentKey,
      documentName: name,
      startedAt: startedAt.current,
      updatedAt: Date.now(),
      messages: messages.map(saved),
    };
    conversationStore.put(entry).then(refresh, () => undefined);
  }, [currentKey, name, messages, settled, refresh]);

  const remove = useCallback((id: string) => void conversationStore.remove(id).then(refresh, refresh), [refresh]);
  return { conversations, currentKey, remove };
}
