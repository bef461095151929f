using System.CommandLine;
using EventGateway.Workflows.Execution;

namespace EventGateway.Cli.Commands;

/// <summary>
/// `egw doctor`: which executors can run steps on this machine, one line each, and why not. Exit 0 when at least one
/// can, 1 when none can.
/// </summary>
internal static class DoctorCommand
{
    public static Command Create()
    {
        var executors = new ExecutorOptions();
        var cmd = new Command("doctor", "say which executors (local, container) can run steps on this machine, and why not") { executors.ContainerHost };
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            var local = Local();
            Console.WriteLine(local.Line);
            var container = await Container(r.GetValue(executors.ContainerHost), ct);
            Console.WriteLine(container.Line);
            return local.Usable || container.Usable ? ExitCodes.Ok : ExitCodes.Failed;
        }));
        return cmd;
    }

    private static (bool Usable, string Line) Local()
    {
        var sandbox = Sandbox.Detect();
        if (sandbox.Unavailable is { } why)
            return Sandbox.Detect(enabled: false).Unavailable is null
                ? (true, $"local: usable only with --no-sandbox (steps as plain host processes): {why}")
                : (false, $"local: not usable: {why}");
        return (true, $"local: usable (steps sandboxed, isolated network{(sandbox.Outbound ? " with outbound access" : " without outbound access: pasta is missing")})");
    }

    private static async Task<(bool Usable, string Line)> Container(string? flag, CancellationToken ct)
    {
        Uri host;
        try { host = ContainerEngine.Resolve(flag, Environment.GetEnvironmentVariable("DOCKER_HOST")); }
        catch (ArgumentException e) { return (false, $"container: not usable: {e.Message}"); }
        var probe = await ContainerEngine.ProbeAsync(host, ct);
        if (!probe.Usable) return (false, $"container: not usable: {probe.Error}");
        if (await ContainerEngine.StartsContainersAsync(host, ct) is { } refused)
            return (false, $"container: not usable: {probe.Engine} at {host} answers but does not start containers: {refused}");
        return (true, $"container: usable ({probe.Engine} at {host}; --executor container --container-host {host})");
    }
}
