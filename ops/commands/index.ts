import type { Command } from '../lib/cli';
import { archiveListCommand } from './archive-list';
import { dlqListCommand } from './dlq-list';
import { dlqRedriveCommand } from './dlq-redrive';
import { dlqShowCommand } from './dlq-show';
import { eventsCommand } from './events';
import { purgeCommand } from './purge';
import { replayCommand } from './replay';
import { sendCommand } from './send';
import { smokeCommand } from './smoke';
import { statusCommand } from './status';

/** Every command of `npm run ops`, in help order. */
export const COMMANDS: readonly Command[] = [
  statusCommand,
  eventsCommand,
  dlqListCommand,
  dlqShowCommand,
  dlqRedriveCommand,
  archiveListCommand,
  replayCommand,
  purgeCommand,
  sendCommand,
  smokeCommand,
];
