using System.CommandLine;
using EventGateway.Server.Hosting;
using EventGateway.Workflows.Execution;

namespace EventGateway.Cli.Commands;

/// <summary>`--executor` and `--container-host`, shared by `egw serve` and `egw run`.</summary>
internal sealed class ExecutorOptions
{
    public Option<string> Executor { get; } = new("--executor")
    {
        Description = "how steps run: local (default: each step is a sandboxed process on this host, using the host's tools; `image` is only recorded) " +
            "or container (each step runs in its image through the Docker Engine API of Docker or Podman; see --container-host)",
        DefaultValueFactory = _ => "local",
    };

    public Option<string?> ContainerHost { get; } = new("--container-host")
    {
        Description = $"the container executor's Docker Engine API, e.g. unix:///run/podman/podman.sock (default: $DOCKER_HOST, else {string.Join(", else ", ContainerEngine.WellKnownSockets)})",
    };

    public ExecutorOptions() => Executor.AcceptOnlyFromAmong("local", "container");

    public void AddTo(Command cmd)
    {
        cmd.Options.Add(Executor);
        cmd.Options.Add(ContainerHost);
    }

    /// <summary>Chooses the executor; the container executor's engine must answer now, or the command ends with why.</summary>
    public async Task ApplyAsync(ParseResult r, EventGatewayOptions options, CancellationToken ct)
    {
        if (r.GetValue(Executor) != "container")
        {
            if (r.GetValue(ContainerHost) is not null) throw new CliException("--container-host needs --executor container", ExitCodes.Invalid);
            return;
        }
        Uri host;
        try { host = ContainerEngine.Resolve(r.GetValue(ContainerHost), Environment.GetEnvironmentVariable("DOCKER_HOST")); }
        catch (ArgumentException e) { throw new CliException(e.Message, ExitCodes.Invalid); }
        var probe = await ContainerEngine.ProbeAsync(host, ct);
        if (!probe.Usable) throw new CliException($"--executor container: {probe.Error}");
        options.ContainerHost = host;
    }
}
