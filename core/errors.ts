/**
 * One error policy: every error the framework raises is a subclass of a built-in error with
 * a stable `code`, and its message says what happened and what to do about it.
 *
 * @module
 */

/** Base class of the framework's errors. */
export class WorkermanError extends Error {
  /** A stable code (`ERR_...`) to test instead of the message. */
  readonly code: string;
  /** An error with its `code` and a message saying what to fix. */
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The start script configured something that cannot work (bad socket name, unknown protocol, ...). */
export class ConfigError extends WorkermanError {}

/** A protocol implementation broke its contract or a peer sent a package it cannot accept. */
export class ProtocolError extends WorkermanError {}

/** A timer was asked for something impossible. */
export class TimerError extends WorkermanError {}
