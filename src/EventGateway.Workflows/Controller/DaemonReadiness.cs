using System.Globalization;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using EventGateway.Model;
using EventGateway.Workflows.Execution;

namespace EventGateway.Workflows.Controller;

/// <summary>
/// When a daemon step (<c>daemon: true</c>) is ready: at once without a <c>readinessProbe</c>, else once its probe
/// passes (Kubernetes' readiness: <c>initialDelaySeconds</c>, then every <c>periodSeconds</c>, default 10, each try
/// within <c>timeoutSeconds</c>, default 1; failures only keep it not ready). <c>httpGet</c> is sent by the service
/// into the step's own network namespace (a 2xx or 3xx passes); <c>exec</c> runs its command as a sandboxed process
/// of the pod, in the workflow's network, with the container's environment (it does not see the daemon's private
/// files: each process has its own root). Ready, the pod reports itself daemoned with its address.
/// </summary>
/// <remarks>
/// The address is the executor's (<see cref="IStepExecutor.PodIPAsync"/>): under the local executor 127.0.0.1, as a
/// workflow's steps share one network namespace (two daemons of one workflow on one port collide, as two containers of
/// one pod would); under the container executor the daemon's container's address on the engine's bridge.
/// </remarks>
internal sealed class DaemonReadiness(IStepExecutor executor, StepSpecBuilder builder, TimeProvider time, Workflow wf, PodRequest pod, StepKey key, Action<PodResult> report)
{
    public const string PodIP = "127.0.0.1";

    private readonly CancellationTokenSource _stop = new();

    public void Start() => _ = RunAsync(_stop.Token);

    /// <summary>The daemon ended: no more probing.</summary>
    public void Stop()
    {
        _stop.Cancel();
        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken ct)
    {
        try
        {
            var container = (Container?)pod.Template.Script ?? pod.Template.Container;
            if (container?.ReadinessProbe is { } probe)
            {
                var delay = Seconds(probe["initialDelaySeconds"], 0);
                var period = Seconds(probe["periodSeconds"], 10);
                var timeout = Seconds(probe["timeoutSeconds"], 1);
                if (delay > TimeSpan.Zero) await Task.Delay(delay, time, ct).ConfigureAwait(false);
                while (!await PassesAsync(probe, container, timeout, ct).ConfigureAwait(false))
                    await Task.Delay(period, time, ct).ConfigureAwait(false);
            }
            var ip = await executor.PodIPAsync(key, ct).ConfigureAwait(false);
            report(new PodResult(pod.NodeId, NodePhase.Running, null, null, null, time.GetUtcNow(), default) { Daemoned = true, PodIP = ip });
        }
        catch (OperationCanceledException) { } // the daemon ended before it was ready
        catch (IOException) { } // its container is gone: the daemon ended
        catch (ObjectDisposedException) { }
    }

    private static TimeSpan Seconds(JsonNode? value, int fallback) =>
        TimeSpan.FromSeconds(value is not null && int.TryParse(value.ToString(), CultureInfo.InvariantCulture, out var n) && n > 0 ? n : fallback);

    private async Task<bool> PassesAsync(JsonNode probe, Container container, TimeSpan timeout, CancellationToken ct)
    {
        if (probe["httpGet"] is { } http) return await HttpPassesAsync(http, container, timeout, ct).ConfigureAwait(false);
        if (probe["exec"]?["command"] is JsonArray command) return await ExecPassesAsync(command, container, timeout, ct).ConfigureAwait(false);
        return true; // refused at load; a template from before that passes at once
    }

    private async Task<bool> HttpPassesAsync(JsonNode http, Container container, TimeSpan timeout, CancellationToken ct)
    {
        if (PortOf(http["port"], container) is not { } port) return false;
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, connect) => new NetworkStream(await executor.ConnectAsync(key, port, connect).ConfigureAwait(false), ownsSocket: true),
            AllowAutoRedirect = false,
        };
        if ((http["scheme"]?.ToString() ?? "HTTP").Equals("HTTPS", StringComparison.OrdinalIgnoreCase))
            handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true; // as the kubelet: no certificate check
        using var client = new HttpClient(handler) { Timeout = timeout };
        var scheme = (http["scheme"]?.ToString() ?? "HTTP").ToLowerInvariant();
        var path = http["path"]?.ToString() ?? "/";
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{scheme}://{http["host"]?.ToString() ?? PodIP}:{port}{(path.StartsWith('/') ? path : "/" + path)}");
        foreach (var h in http["httpHeaders"] as JsonArray ?? [])
            if (h?["name"]?.ToString() is { } name) request.Headers.TryAddWithoutValidation(name, h["value"]?.ToString() ?? "");
        try
        {
            using var response = await client.SendAsync(request, ct).ConfigureAwait(false);
            return (int)response.StatusCode is >= 200 and < 400;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or SocketException or NotSupportedException || e is TaskCanceledException && !ct.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>A number, or the name of one of the container's ports.</summary>
    private static int? PortOf(JsonNode? port, Container container)
    {
        var text = port?.ToString();
        if (int.TryParse(text, CultureInfo.InvariantCulture, out var n)) return n;
        foreach (var p in container.Ports as JsonArray ?? [])
            if (p?["name"]?.ToString() == text && int.TryParse(p?["containerPort"]?.ToString(), CultureInfo.InvariantCulture, out var named)) return named;
        return null;
    }

    private async Task<bool> ExecPassesAsync(JsonArray command, Container container, TimeSpan timeout, CancellationToken ct)
    {
        var probeKey = key with { NodeId = $"{key.NodeId}/readiness" };
        var probeContainer = new Container { Image = container.Image, Command = [.. command.Select(c => c?.ToString() ?? "")], Env = container.Env, EnvFrom = container.EnvFrom, WorkingDir = container.WorkingDir };
        var (spec, _) = await builder.BuildAsync(wf, pod with { NodeId = probeKey.NodeId, Template = new Template { Name = pod.Template.Name, Container = probeContainer }, InputArtifacts = [] }, time, ct).ConfigureAwait(false);
        if (spec is null) return false;
        try
        {
            var outcome = await executor.RunAsync(spec with { InPodSlot = true, Pod = key, Deadline = time.GetUtcNow() + timeout }, () => { }, ct).ConfigureAwait(false);
            return outcome.Succeeded;
        }
        finally
        {
            // One directory serves every try: the next must not adopt this one's exit code.
            try { Directory.Delete(Path.GetDirectoryName(executor.LogPath(probeKey, "stdout"))!, recursive: true); }
            catch (IOException) { }
        }
    }
}
