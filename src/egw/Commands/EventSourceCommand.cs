using System.CommandLine;
using EventGateway.Cli.Output;

namespace EventGateway.Cli.Commands;

internal static class EventSourceCommand
{
    public static Command Create()
    {
        var cmd = new Command("eventsource", "event sources and what their listeners are doing");
        cmd.Aliases.Add("es");
        cmd.Subcommands.Add(ResourceViews.List("list event sources with their state", "api/v1/event-sources", EventPrinter.SourceTable));
        cmd.Subcommands.Add(ResourceViews.Get("show an event source, its listeners and their counts", "event source", "api/v1/event-sources", EventPrinter.SourceDetail));
        return cmd;
    }
}
