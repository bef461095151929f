using System.CommandLine;
using EventGateway.Cli.Output;

namespace EventGateway.Cli.Commands;

internal static class SensorCommand
{
    public static Command Create()
    {
        var cmd = new Command("sensor", "sensors: their state and what they decided about events");
        cmd.Subcommands.Add(ResourceViews.List("list sensors with their state and counts", "api/v1/sensors", SensorPrinter.SensorTable));
        cmd.Subcommands.Add(ResourceViews.Get("show a sensor, its dependencies and per-trigger counts", "sensor", "api/v1/sensors", SensorPrinter.SensorDetail));
        return cmd;
    }
}
