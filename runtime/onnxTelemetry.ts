/**
 * Turns off onnxruntime's own telemetry unless the user chose otherwise. Since 1.29 onnxruntime
 * collects usage events on Linux and macOS by default (microsoft/onnxruntime#27379): a device id
 * and an event store in ~/.cache/Microsoft/DeveloperTools, an uploader to Microsoft, and an empty
 * /tmp/mat-debug-<pid>.log per process. A stream job scoring card transactions should not send
 * anything anywhere its user did not ask for. `ORT_DISABLE_TELEMETRY=1` is onnxruntime's full
 * opt-out; it is read once, when the first session of the process is created, from the process
 * environment. Worker threads have their own copy of `process.env` that native code does not see,
 * so only the main thread can set it: import this module first wherever onnxruntime may be loaded
 * on the main thread, and in the CLI before any thread starts. Set ORT_DISABLE_TELEMETRY=0 to
 * leave onnxruntime's default on.
 */
import { isMainThread } from 'node:worker_threads';

if (isMainThread) process.env.ORT_DISABLE_TELEMETRY ??= '1';
