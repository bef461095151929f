using System.CommandLine;
using EventGateway.Postgres.Copy;

namespace EventGateway.Cli.Commands;

/// <summary><c>egw store copy</c>: moves the state between the embedded mode and PostgreSQL, either way.</summary>
internal static class StoreCommand
{
    public static Command Create()
    {
        var cmd = new Command("store", "the service's state: the embedded SQLite files of a data directory, or a PostgreSQL database");
        cmd.Subcommands.Add(Copy());
        return cmd;
    }

    private static Command Copy()
    {
        var from = new Option<string>("--from") { Description = "where the state is: a data directory, or postgres://USER:PASSWORD@HOST:PORT/DATABASE", Required = true };
        var to = new Option<string>("--to") { Description = "where it goes: a data directory, or postgres://USER:PASSWORD@HOST:PORT/DATABASE", Required = true };
        var overwrite = new Option<bool>("--overwrite") { Description = "replace what the destination holds (without it, a destination that holds anything is refused)" };
        var cmd = new Command("copy", """
            copy the resources (workflows, templates, cron workflows, event sources, sensors, config maps, secrets; with their
            uids and statuses) and the workflow archive from one store to another, e.g. from the embedded mode to PostgreSQL for
            several replicas (`egw serve --store postgres://...`), or back. Stop every `egw serve` of both first.
            Sensor state is not copied: its checkpoints are positions in one event log, which mean nothing in another
            (moving to PostgreSQL usually goes with a move to a NATS event bus); sensors start again from the new log's end.
            """) { from, to, overwrite };
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            try
            {
                var result = await StoreCopy.CopyAsync(r.GetValue(from)!, r.GetValue(to)!, r.GetValue(overwrite), ct);
                Console.WriteLine($"copied {result.Resources} resource(s) and {result.Archived} archived workflow(s)");
                return ExitCodes.Ok;
            }
            catch (StoreCopyException e) { throw new CliException(e.Message, ExitCodes.Invalid); }
        }));
        return cmd;
    }
}
