// The conversations this browser keeps (IndexedDB), newest first: each one's document, date and
// questions, readable again, and removable. A saved chat is a record: reading it does not put it back
// into the model's context.
import { useState } from 'react';
import type { ConversationArchive, SavedConversation } from '../conversations.ts';
import { Markdown } from './Markdown.tsx';

export function SavedConversations({ archive }: { archive: ConversationArchive }) {
  const { conversations, currentKey, remove } = archive;
  const [open, setOpen] = useState<string>();
  if (!conversations) return null;
  return (
    <details className="saved-conversations" data-testid="saved-conversations">
      <summary>Saved conversations: {conversations.length === 0 ? 'none yet' : conversations.length}</summary>
      {conversations.length === 0 ? (
        <p className="hint">Chats are kept in this browser, per document, as you go.</p>
      ) : (
        <ul>
          {conversations.map((c) => (
            <li key={c.id} data-testid="saved-conversation">
              <div className="saved-head">
                <span className="saved-name">
                  {c.documentName}
                  {c.documentKey === currentKey && <span className="badge">this document</span>}
                </span>
                <span className="saved-meta">
                  {new Date(c.updatedAt).toLocaleString()} · {questions(c)}
                </span>
                <span className="row">
                  <button type="button" className="button small" aria-expanded={open === c.id} onClick={() => setOpen(open === c.id ? undefined : c.id)}>
                    {open === c.id ? 'Hide' : 'Read'}
                  </button>
                  <button type="button" className="button small quiet" aria-label={`Delete the conversation about ${c.documentName}`} onClick={() => remove(c.id)}>
                    Delete
                  </button>
                </span>
              </div>
              {open === c.id && (
                <ol className="saved-messages" aria-label={`Conversation about ${c.documentName}`}>
                  {c.messages.map((m, i) => (
                    <li key={i} className={`message ${m.role}`}>
                      {m.role === 'user' ? <p className="message-text">{m.text}</p> : <div className="message-text markdown"><Markdown text={m.text} /></div>}
                    </li>
                  ))}
                </ol>
              )}
            </li>
          ))}
        </ul>
      )}
    </details>
  );
}

function questions(c: SavedConversation): string {
  const n = c.messages.filter((m) => m.role === 'user').length;
  return `${n} ${n === 1 ? 'question' : 'questions'}`;
}
