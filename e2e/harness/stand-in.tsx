// The app with a DEVELOPMENT STAND-IN engine (no model runs): for UI tests and screenshots only.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from '../../src/ui/App.tsx';
import { createDevStandInReader } from './dev-stand-in-reader.ts';
import '../../src/ui/styles.css';
import '../../src/ui/app.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App createReader={createDevStandInReader} />
  </StrictMode>,
);
