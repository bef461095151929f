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
            "or container (each step runs in its image through the Docker Engine API of Docker or Podman; see --container-host) " +
            "or kubernetes (serve only: each step is a pod of the cluster of --kubernetes/--kubeconfig; needs an S3 --artifact-repository)",
        DefaultValueFactory = _ => "local",
    };

    public Option<string?> ContainerHost { get; } = new("--container-host")
    {
        Description = $"the container executor's Docker Engine API, e.g. unix:///run/podman/podman.sock (default: $DOCKER_HOST, else {string.Join(", else ", ContainerEngine.WellKnownSockets)})",
    };

    public Option<string?> PodUploadImage { get; } = new("--pod-upload-image")
    {
        Description = "--executor kubernetes: the image (with /bin/sh and curl) of the container that uploads a step's outputs to the S3 artifact repository (default: curlimages/curl:8.11.1)",
    };

    public ExecutorOptions() => Executor.AcceptOnlyFromAmong("local", "container", "kubernetes");

    public void AddTo(Command cmd)
    {
        cmd.Options.Add(Executor);
        cmd.Options.Add(ContainerHost);
        cmd.Options.Add(PodUploadImage);
    }

    /// <summary>Chooses the executor; the container executor's engine must answer now, or the command ends with why.</summary>
    public async Task ApplyAsync(ParseResult r, EventGatewayOptions options, CancellationToken ct)
    {
        if (r.GetValue(PodUploadImage) is not null && r.GetValue(Executor) != "kubernetes") throw new CliException("--pod-upload-image needs --executor kubernetes", ExitCodes.Invalid);
        if (r.GetValue(Executor) == "kubernetes")
        {
            if (r.GetValue(ContainerHost) is not null) throw new CliException("--container-host needs --executor container", ExitCodes.Invalid);
            options.Pods = new EventGateway.Server.Kubernetes.Pods.PodExecutorOptions();
            if (r.GetValue(PodUploadImage) is { } image) options.Pods.UploadImage = image;
            return;
        }
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
