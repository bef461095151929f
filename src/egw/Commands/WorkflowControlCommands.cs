using System.CommandLine;
using System.Text.Json.Nodes;
using EventGateway.Cli.Output;
using EventGateway.Model;

namespace EventGateway.Cli.Commands;

/// <summary>
/// <c>egw suspend|resume|stop|terminate|retry|resubmit NAME...</c>: Argo's operator controls, sent to
/// <c>egw serve</c> as Argo's PUT /api/v1/workflows/{ns}/{name}/{operation}.
/// </summary>
internal static class WorkflowControlCommands
{
    public static IEnumerable<Command> Create() =>
    [
        Operation("suspend", "suspend workflows: running steps finish, nothing new starts until resumed", "suspended",
            [Selector("not supported: suspend acts on whole workflows (the server says why)")]),
        Operation("resume", "resume suspended workflows and the suspend steps they wait in", "resumed", [Selector("resume only the suspend nodes it matches")]),
        Operation("stop", "stop workflows: kill running steps, start nothing new, then run their exit handlers", "stopped",
            [Selector("stop only the suspend nodes it matches"), new Option<string?>("--message") { Description = "why: kept on the workflow (with a selector: the message of the stopped nodes)" }]),
        Operation("terminate", "terminate workflows: kill running steps, start nothing new, run no exit handler", "terminated", []),
        Operation("retry", "run the failed steps of Failed or Error workflows again, keeping what succeeded", "retried",
            [new Option<bool>("--restart-successful") { Description = "also run again the succeeded nodes that --node-field-selector matches" }, Selector("with --restart-successful: the succeeded nodes to run again")]),
        Operation("resubmit", "submit workflows again as new workflows with the same spec and arguments", "resubmitted",
            [new Option<bool>("--memoized") { Description = "carry over the steps that succeeded instead of running them again (Failed/Error only)" }]),
    ];

    private static Option<string?> Selector(string description) => new("--node-field-selector")
    {
        Description = $"FIELD=VALUE[,FIELD!=VALUE...] over displayName, templateName, phase, name, id, inputs.parameters.NAME.value: {description}",
    };

    private static Command Operation(string verb, string description, string done, Option[] extra)
    {
        var names = new Argument<string[]>("names") { Description = "workflow names", Arity = ArgumentArity.OneOrMore };
        var server = Common.Server();
        var ns = Common.Namespace();
        var output = Common.Output();
        var cmd = new Command(verb, description) { names, server, ns, output };
        foreach (var o in extra) cmd.Options.Add(o);
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            var machine = Common.Machine(r.GetValue(output));
            var body = new JsonObject();
            foreach (var o in extra)
            {
                if (o is Option<string?> text && r.GetValue(text) is { Length: > 0 } s) body[BodyField(o.Name)] = s;
                if (o is Option<bool> flag && r.GetValue(flag)) body[BodyField(o.Name)] = true;
            }
            // An unknown option would otherwise be taken for a workflow name, after the names before it were acted on.
            if (r.GetValue(names)!.FirstOrDefault(n => n.StartsWith('-')) is { } unknown)
                throw new CliException($"unknown option '{unknown}' for egw {verb}", ExitCodes.Invalid);
            using var api = server.Client(r);
            var results = new List<Workflow>();
            foreach (var name in r.GetValue(names)!)
            {
                var wf = await api.PutWorkflowAsync($"api/v1/workflows/{r.GetValue(ns)}/{name}/{verb}", body, ct);
                results.Add(wf);
                if (machine is null) Console.WriteLine(verb == "resubmit" ? $"workflow {name} resubmitted as {wf.Name}" : $"workflow {name} {done}");
            }
            if (machine is not null) Console.WriteLine(machine.Text(WorkflowPrinter.ResultsToJson(results)));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    /// <summary>"--restart-successful" becomes Argo's request field "restartSuccessful".</summary>
    private static string BodyField(string option)
    {
        var parts = option.TrimStart('-').Split('-');
        return parts[0] + string.Concat(parts.Skip(1).Select(p => char.ToUpperInvariant(p[0]) + p[1..]));
    }
}
