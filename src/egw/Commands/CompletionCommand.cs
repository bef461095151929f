using System.CommandLine;

namespace EventGateway.Cli.Commands;

/// <summary>
/// `egw completion bash|zsh|fish`: a script that asks egw itself what may come next (System.CommandLine's
/// [suggest] directive), so completions always match this binary's commands and options.
/// </summary>
internal static class CompletionCommand
{
    private const string Bash = """
        # egw completion for bash; load with: source <(egw completion bash)
        _egw() {
          local IFS=$'\n'
          COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null)" -- "${COMP_WORDS[COMP_CWORD]}"))
        }
        complete -o default -F _egw egw

        """;

    private const string Zsh = """
        # egw completion for zsh; load with: source <(egw completion zsh)
        autoload -U +X bashcompinit && bashcompinit

        """ + Bash;

    private const string Fish = """
        # egw completion for fish; load with: egw completion fish | source
        complete -c egw -f -a '(egw "[suggest:"(string length -- (commandline -cp))"]" (commandline -cp) 2>/dev/null)'

        """;

    public static Command Create()
    {
        var shell = new Argument<string>("shell") { Description = "bash, zsh or fish" };
        shell.CompletionSources.Add("bash", "zsh", "fish");
        var cmd = new Command("completion", "print a shell completion script (bash: source <(egw completion bash))") { shell };
        cmd.SetAction((r, ct) => Common.Guard(() =>
        {
            Console.Write(r.GetValue(shell) switch
            {
                "bash" => Bash,
                "zsh" => Zsh,
                "fish" => Fish,
                var other => throw new CliException($"unknown shell '{other}': use bash, zsh or fish", ExitCodes.Invalid),
            });
            return Task.FromResult(ExitCodes.Ok);
        }));
        return cmd;
    }
}
