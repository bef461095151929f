using System.CommandLine;

namespace EventGateway.Cli.Commands;

internal static class DeleteCommand
{
    public static Command Create()
    {
        var names = new Argument<string[]>("names") { Description = "workflow names", Arity = ArgumentArity.OneOrMore };
        var server = Common.Server();
        var ns = Common.Namespace();
        var cmd = new Command("delete", "delete workflows, their logs and artifacts") { names, server, ns };
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            using var api = server.Client(r);
            foreach (var n in r.GetValue(names)!)
            {
                await api.DeleteAsync(r.GetValue(ns)!, n, ct);
                Console.WriteLine($"Workflow '{n}' deleted");
            }
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
