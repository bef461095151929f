using System.CommandLine;
using EventGateway.Cli.Output;
using EventGateway.Model;

namespace EventGateway.Cli.Commands;

/// <summary>`egw cron create|list|get|suspend|resume|delete`, as `argo cron`.</summary>
internal static class CronCommand
{
    private const string Collection = "api/v1/cron-workflows";

    public static Command Create()
    {
        var cmd = new Command("cron", "CronWorkflows: workflows run on a schedule by `egw serve`");
        cmd.Subcommands.Add(StoredResourceCommands.Create<CronWorkflow>("create CronWorkflows from files", Collection, "cronWorkflow"));
        cmd.Subcommands.Add(ResourceViews.List("list CronWorkflows with their last and next run", Collection, CronPrinter.CronTable));
        cmd.Subcommands.Add(ResourceViews.Get("show a CronWorkflow, its schedule and status", "cron workflow", Collection, CronPrinter.CronDetail));
        cmd.Subcommands.Add(SetSuspend("suspend", "stop scheduling: no tick creates a workflow until resumed"));
        cmd.Subcommands.Add(SetSuspend("resume", "schedule again; ticks missed while suspended run only within startingDeadlineSeconds"));
        cmd.Subcommands.Add(StoredResourceCommands.Delete("CronWorkflow", Collection));
        return cmd;
    }

    private static Command SetSuspend(string verb, string description)
    {
        var names = new Argument<string[]>("names") { Description = "CronWorkflow names", Arity = ArgumentArity.OneOrMore };
        var server = Common.Server();
        var ns = Common.Namespace();
        var cmd = new Command(verb, description) { names, server, ns };
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            using var api = server.Client(r);
            foreach (var n in r.GetValue(names)!)
            {
                await api.PutJsonAsync($"{Collection}/{Uri.EscapeDataString(r.GetValue(ns)!)}/{Uri.EscapeDataString(n)}/{verb}", null, ct);
                Console.WriteLine($"CronWorkflow '{n}' {verb}d");
            }
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
