using System.Net.Sockets;
using Docker.DotNet;

namespace EventGateway.Workflows.Execution;

/// <summary>
/// Finds and checks the Docker Engine API the container executor talks to: Docker's or Podman's service on a unix
/// socket. One place decides the default endpoint and what "usable" means, for `egw serve|run --executor container`
/// and `egw doctor` alike.
/// </summary>
public static class ContainerEngine
{
    /// <summary>Where Podman's system service and Docker listen by default, in the order they are tried.</summary>
    public static readonly string[] WellKnownSockets = ["/run/podman/podman.sock", "/var/run/docker.sock"];

    /// <summary>The newest API version Podman 4 serves; everything the executor uses is older.</summary>
    public static readonly Version ApiVersion = new(1, 41);

    /// <summary>
    /// The endpoint: <paramref name="flag"/> if given, else DOCKER_HOST, else the first well-known socket that exists
    /// (or the first of them, so the error names a path). Throws <see cref="ArgumentException"/> for a value that is not
    /// a unix:// or tcp:// URI.
    /// </summary>
    public static Uri Resolve(string? flag, string? dockerHost, Func<string, bool>? exists = null)
    {
        exists ??= File.Exists;
        var (text, source) = !string.IsNullOrWhiteSpace(flag) ? (flag, "--container-host")
            : !string.IsNullOrWhiteSpace(dockerHost) ? (dockerHost, "DOCKER_HOST")
            : ("unix://" + (WellKnownSockets.FirstOrDefault(exists) ?? WellKnownSockets[0]), "default");
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("unix" or "tcp" or "http" or "https"))
            throw new ArgumentException($"{source} '{text}' is not a container engine address: use unix:///path/to/socket (or tcp://host:port)");
        return uri;
    }

    public static DockerClient Connect(Uri host) =>
        new DockerClientBuilder().WithEndpoint(host).WithApiVersion(ApiVersion).Build();

    /// <summary>Says whether the engine answers: its name and version, or why not (no socket, refused, not an engine).</summary>
    public static async Task<Probe> ProbeAsync(Uri host, CancellationToken ct = default)
    {
        if (host.Scheme == "unix" && !File.Exists(host.LocalPath) && !Directory.Exists(host.LocalPath))
            return new Probe(null, $"no container engine socket at {host.LocalPath} (start one, e.g. `podman --runtime runc system service --time=0 unix://{host.LocalPath}`, or give --container-host / DOCKER_HOST)");
        try
        {
            using var docker = Connect(host);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            // Generous: a busy engine (another podman holding the storage lock) can take seconds to answer its first request.
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            var version = await docker.System.GetVersionAsync(timeout.Token).ConfigureAwait(false);
            var name = version.Components?.FirstOrDefault()?.Name ?? "Docker Engine";
            return new Probe($"{name} {version.Version}, API {version.APIVersion}", null);
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or IOException or DockerApiException or OperationCanceledException or UnauthorizedAccessException)
        {
            return new Probe(null, $"the container engine at {host} does not answer: {Innermost(e).Message}");
        }
    }

    /// <summary>
    /// Whether the engine starts a container (an engine can answer and still refuse every start, e.g. crun on a cgroup
    /// layout it does not support): creates, starts and removes one from <see cref="PauseImage"/>. Null when it does,
    /// else the engine's reason.
    /// </summary>
    public static async Task<string?> StartsContainersAsync(Uri host, CancellationToken ct = default)
    {
        using var docker = Connect(host);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        var name = $"egw-doctor-{Guid.NewGuid():N}"[..23];
        try
        {
            var image = await PauseImage.EnsureAsync(docker, timeout.Token).ConfigureAwait(false);
            await docker.Containers.CreateContainerAsync(new Docker.DotNet.Models.CreateContainerParameters
            {
                Name = name,
                Image = image,
                Entrypoint = PauseImage.Entrypoint,
                Cmd = [],
                HostConfig = new Docker.DotNet.Models.HostConfig
                {
                    CapDrop = ["ALL"],
                    SecurityOpt = ["no-new-privileges"],
                    Ulimits = [new Docker.DotNet.Models.Ulimit { Name = "nofile", Soft = 64, Hard = 64 }, new Docker.DotNet.Models.Ulimit { Name = "nproc", Soft = 64, Hard = 64 }],
                },
            }, timeout.Token).ConfigureAwait(false);
            await docker.Containers.StartContainerAsync(name, new Docker.DotNet.Models.ContainerStartParameters(), timeout.Token).ConfigureAwait(false);
            return null;
        }
        catch (Exception e) when (e is DockerApiException or IOException or HttpRequestException or OperationCanceledException)
        {
            return Innermost(e).Message.Trim();
        }
        finally
        {
            try { await docker.Containers.RemoveContainerAsync(name, new Docker.DotNet.Models.ContainerRemoveParameters { Force = true }, CancellationToken.None).ConfigureAwait(false); }
            catch (Exception e) when (e is DockerApiException or IOException or HttpRequestException) { } // never created
        }
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is { } inner) e = inner;
        return e;
    }

    /// <summary>The engine's description when it answers, else why it cannot be used.</summary>
    public sealed record Probe(string? Engine, string? Error)
    {
        public bool Usable => Error is null;
    }
}
