import type { Command, Option } from 'commander';
import { buildProgram } from './cli.ts';

/**
 * The command-line reference (docs/cli.md), made from the same definitions `sluice` parses with,
 * so the documentation cannot miss a flag. `npm run docs:cli` writes it; a test checks it is current.
 *
 * @example
 * writeFileSync('docs/cli.md', cliReference());
 */
export function cliReference(program: Command = buildProgram()): string {
  const lines = [
    '# Command-line reference',
    '',
    '<!-- Generated from runtime/cli.ts by `npm run docs:cli`; do not edit by hand. -->',
    '',
    `\`${program.name()}\`: ${program.description()}`,
    '',
  ];
  const walk = (commands: readonly Command[], prefix: string): void => {
    for (const command of commands) {
      describeCommand(command, `${prefix} ${command.name()}`, lines);
      walk(command.commands, `${prefix} ${command.name()}`);
    }
  };
  walk(program.commands, 'sluice');
  return `${lines.join('\n')}\n`;
}

function describeCommand(command: Command, name: string, lines: string[]): void {
  {
    const args = command.registeredArguments.map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}]`)).join(' ');
    lines.push(`## ${name} ${args}`.trimEnd(), '', `${command.description()}.`, '');
    for (const argument of command.registeredArguments) lines.push(`- \`${argument.name()}\`: ${argument.description}${argument.defaultValue === undefined ? '' : ` (default \`${String(argument.defaultValue)}\`)`}`);
    if (command.registeredArguments.length > 0) lines.push('');
    if (command.options.length > 0) {
      lines.push('| flag | what it does | default | environment |', '| --- | --- | --- | --- |');
      for (const option of command.options) lines.push(optionRow(option));
      lines.push('');
    }
  }
}

function optionRow(option: Option): string {
  const flags = option.flags.replace(/\|/g, '\\|');
  const choices = option.argChoices === undefined ? '' : ` (one of ${option.argChoices.join(', ')})`;
  // A default described in words ("the core count") reads the same on every machine.
  const fallback = option.defaultValueDescription !== undefined ? option.defaultValueDescription : option.defaultValue === undefined || option.negate || option.defaultValue === false || typeof option.defaultValue === 'object' ? '' : `\`${String(option.defaultValue)}\``;
  return `| \`${flags}\` | ${option.description.replace(/\|/g, '\\|')}${choices} | ${fallback} | ${option.envVar === undefined ? '' : `\`${option.envVar}\``} |`;
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(cliReference());
