using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace EventGateway.Tests.Support;

/// <summary>
/// A real nats-server with JetStream on loopback (Debian package nats-server; .ci/run installs it): a child
/// process on a free port with its own store directory, killed on dispose. <see cref="StopAsync"/> and
/// <see cref="StartAgainAsync"/> keep port and directory, so a restart finds its streams again.
/// </summary>
public sealed class NatsServer : IAsyncDisposable
{
    private readonly StringBuilder _output = new();
    private Process? _process;

    private NatsServer(int port, string directory)
    {
        Port = port;
        Directory = directory;
    }

    public int Port { get; }
    public string Directory { get; }
    public string Url => $"nats://127.0.0.1:{Port}";

    public static async Task<NatsServer> StartAsync()
    {
        var server = new NatsServer(EventTestHost.FreePort(), System.IO.Directory.CreateTempSubdirectory("egw-nats-").FullName);
        await server.StartAgainAsync();
        return server;
    }

    public async Task StartAgainAsync()
    {
        if (_process is not null) throw new InvalidOperationException("nats-server is running");
        var exe = new[] { "/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("nats-server is missing: apt-get install nats-server (see .ci/run)");
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-js", "-a", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-sd", Directory })
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _process = p;
        // Ready when its log says so: the port alone opens before JetStream has recovered its streams.
        await Eventually.Get(async () =>
        {
            if (p.HasExited) throw new InvalidOperationException($"nats-server exited with {p.ExitCode}: {Output}");
            if (!Output.Contains("Server is ready", StringComparison.Ordinal)) return null;
            using var tcp = new TcpClient();
            try
            {
                await tcp.ConnectAsync("127.0.0.1", Port);
                return "up";
            }
            catch (SocketException)
            {
                return null;
            }
        }, $"nats-server on {Url} to be ready", TimeSpan.FromSeconds(30));
    }

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>Kills the server (SIGKILL: no goodbye to clients), keeping its directory for <see cref="StartAgainAsync"/>.</summary>
    public async Task StopAsync()
    {
        if (_process is not { } p) return;
        _process = null;
        if (!p.HasExited) p.Kill(entireProcessTree: true);
        await p.WaitForExitAsync();
        p.Dispose();
        lock (_output) _output.Clear();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { }
    }
}
