using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using EventGateway.Server.Security;

namespace EventGateway.Tests.Support;

/// <summary>`egw serve` as a real child process on a loopback port, so tests can kill -9 it.</summary>
public sealed class ServeProcess : IAsyncDisposable
{
    private Process _process;

    private readonly string[] _extra;

    private ServeProcess(Process p, int port, string dataDir, string[] extra) => (_process, Port, DataDir, _extra) = (p, port, dataDir, extra);

    public int Port { get; }
    public string DataDir { get; }
    /// <summary>https when started with --tls-cert.</summary>
    public Uri BaseAddress => new($"{(_extra.Contains("--tls-cert") ? "https" : "http")}://127.0.0.1:{Port}/");
    public int Pid => _process.Id;

    /// <summary>The admin token `egw serve` made in its data directory at first start.</summary>
    public string AdminToken => AdminTokenFile.Read(AdminTokenFile.PathIn(DataDir)) ?? throw new InvalidOperationException($"no admin token in {DataDir}");

    /// <summary>A client of the REST API that authenticates as the admin, as `egw` on the same machine does.</summary>
    /// <summary>A JSON request body, as the API requires of every state-changing request.</summary>
    public static StringContent Json(string body) => new(body, System.Text.Encoding.UTF8, "application/json");

    public HttpClient CreateClient(TimeSpan? timeout = null, HttpMessageHandler? handler = null)
    {
        var http = handler is null ? new HttpClient() : new HttpClient(handler);
        http.BaseAddress = BaseAddress;
        if (timeout is { } t) http.Timeout = t;
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        return http;
    }

    /// <summary>
    /// The data directory of the running server at a URL, so `egw --server URL` in a test finds the server's admin
    /// token as it does on a real machine (EGW_DATA_DIR).
    /// </summary>
    public static string? DataDirOf(string server) => Running.TryGetValue(server.TrimEnd('/'), out var dir) ? dir : null;

    private static readonly ConcurrentDictionary<string, string> Running = new();

    /// <param name="extra">further `egw serve` arguments, e.g. --manifests DIR</param>
    public static async Task<ServeProcess> StartAsync(string? dataDir = null, int? port = null, params string[] extra)
    {
        dataDir ??= Directory.CreateTempSubdirectory("egw-serve-").FullName;
        port ??= FreePort();
        var p = Launch(dataDir, port.Value, extra);
        var s = new ServeProcess(p, port.Value, dataDir, extra);
        Running[s.BaseAddress.ToString().TrimEnd('/')] = dataDir;
        await s.WaitHealthyAsync();
        return s;
    }

    private static Process Launch(string dataDir, int port, string[] extra)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "egw.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // Replicas on one machine listen on addresses of their own (127.0.0.2, ...): an --events-address in extra wins.
        var events = extra.Contains("--events-address") ? [] : new[] { "--events-address", "127.0.0.1" };
        foreach (var a in new[] { dll, "serve", "--port", port.ToString(), "--data-dir", dataDir }.Concat(events).Concat(extra)) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    private async Task WaitHealthyAsync()
    {
        // Only the probe skips certificate checks; tests that use TLS check the certificate themselves.
        using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true })
            { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        await Eventually.Get<string>(async () =>
        {
            if (_process.HasExited) throw new InvalidOperationException($"egw serve exited with {_process.ExitCode}");
            try { return (await http.GetAsync("healthz")).IsSuccessStatusCode ? "up" : null; }
            catch (HttpRequestException) { return null; }
            catch (TaskCanceledException) { return null; }
        }, "egw serve to answer /healthz");
    }

    /// <summary>Resident memory of the service process now, from /proc.</summary>
    public long ResidentBytes()
    {
        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        throw new InvalidOperationException($"no VmRSS for pid {Pid}");
    }

    /// <summary>SIGTERM, as systemd or kubelet stop the service; returns how long the process took to exit, or null if it did not within <paramref name="within"/>.</summary>
    public async Task<TimeSpan?> TerminateAsync(TimeSpan within)
    {
        var watch = Stopwatch.StartNew();
        using (var kill = Process.Start("kill", ["-TERM", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
        using var cts = new CancellationTokenSource(within);
        try { await _process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { return null; }
        return watch.Elapsed;
    }

    /// <summary>SIGKILL, no chance to save anything: the crash the contracts are about.</summary>
    public void KillHard()
    {
        _process.Kill(entireProcessTree: false);
        _process.WaitForExit();
    }

    public async Task RestartAsync()
    {
        _process.Dispose();
        _process = Launch(DataDir, Port, _extra);
        await WaitHealthyAsync();
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        Running.TryRemove(BaseAddress.ToString().TrimEnd('/'), out _);
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        // The kill gave the service no chance to delete its network namespaces (and their pastas); its steps died with it.
        new EventGateway.Workflows.Execution.WorkflowNetworks(Path.GetFullPath(DataDir)).RemoveLeftovers();
        _process.Dispose();
        try { Directory.Delete(DataDir, recursive: true); }
        catch (IOException) { }
    }
}
