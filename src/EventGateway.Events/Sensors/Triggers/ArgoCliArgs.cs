namespace EventGateway.Events.Sensors.Triggers;

/// <summary>
/// An argoWorkflow trigger's <c>args</c>: Argo appends them to its <c>argo OPERATION</c> command line. There is no
/// argo CLI here, so the flags that change what runs are understood (parameters, entrypoint, labels, names, the
/// retry and resume selectors), the ones that only change what the CLI prints are accepted as no-ops, and any
/// other flag is refused by name rather than dropped.
/// </summary>
internal sealed class ArgoCliArgs
{
    public List<KeyValuePair<string, string>> Parameters { get; } = [];
    public Dictionary<string, string> Labels { get; } = new(StringComparer.Ordinal);
    public string? Entrypoint { get; private set; }
    public string? Name { get; private set; }
    public string? GenerateName { get; private set; }
    public string? NodeFieldSelector { get; private set; }
    public bool RestartSuccessful { get; private set; }
    public bool Memoized { get; private set; }

    /// <summary>Flags of `argo submit` that only shape its output (or, as --strict, a check that always runs here).</summary>
    private static readonly string[] DisplayOnly = ["--node-field-selector", "--status", "-o", "--output", "--strict"];

    private static readonly Dictionary<string, string[]> Understood = new(StringComparer.Ordinal)
    {
        ["submit"] = ["-p", "--parameter", "--entrypoint", "-l", "--labels", "--name", "--generate-name", .. DisplayOnly],
        ["submit-from"] = ["-p", "--parameter", "--entrypoint", "-l", "--labels", "--name", "--generate-name", .. DisplayOnly],
        ["retry"] = ["--restart-successful", "--node-field-selector"],
        ["resume"] = ["--node-field-selector"],
        ["stop"] = ["--node-field-selector"],
        ["resubmit"] = ["--memoized"],
        ["suspend"] = [],
        ["terminate"] = [],
    };

    private static readonly string[] Booleans = ["--restart-successful", "--memoized", "--strict"];

    /// <summary>Reads the args of <paramref name="operation"/>, reporting each one that cannot be honoured under <paramref name="at"/>.</summary>
    public static ArgoCliArgs Parse(IReadOnlyList<string>? args, string operation, string at, Action<string, string> fail)
    {
        var result = new ArgoCliArgs();
        var allowed = Understood.GetValueOrDefault(operation) ?? [];
        for (var i = 0; i < (args?.Count ?? 0); i++)
        {
            var arg = args![i] ?? "";
            var (flag, inline) = arg.IndexOf('=') is > 0 and var eq && arg.StartsWith('-') ? (arg[..eq], arg[(eq + 1)..]) : (arg, null);
            if (!allowed.Contains(flag))
            {
                var hint = allowed.Length == 0 ? $"argo {operation} takes no arguments here" : $"understood for {operation}: {string.Join(", ", allowed)}";
                fail($"{at}[{i}]", $"'{arg}' is not supported here ({hint}); the trigger runs the embedded controller, not the argo CLI");
                continue;
            }
            string value;
            if (Booleans.Contains(flag)) value = inline ?? "true";
            else if (inline is not null) value = inline;
            else if (i + 1 < args.Count) value = args[++i] ?? "";
            else { fail($"{at}[{i}]", $"'{flag}' needs a value"); continue; }

            switch (flag)
            {
                case "-p" or "--parameter":
                    if (value.IndexOf('=') is > 0 and var eq2) result.Parameters.Add(new(value[..eq2], value[(eq2 + 1)..]));
                    else fail($"{at}[{i}]", $"'{value}' is not NAME=VALUE");
                    break;
                case "-l" or "--labels":
                    foreach (var pair in value.Split(',', StringSplitOptions.RemoveEmptyEntries))
                        if (pair.IndexOf('=') is > 0 and var eq3) result.Labels[pair[..eq3]] = pair[(eq3 + 1)..];
                        else fail($"{at}[{i}]", $"label '{pair}' is not KEY=VALUE");
                    break;
                case "--entrypoint": result.Entrypoint = value; break;
                case "--name": result.Name = value; break;
                case "--generate-name": result.GenerateName = value; break;
                case "--node-field-selector": result.NodeFieldSelector = value; break;
                case "--restart-successful": result.RestartSuccessful = value != "false"; break;
                case "--memoized": result.Memoized = value != "false"; break;
            }
        }
        return result;
    }
}
