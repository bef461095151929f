using System.Diagnostics;
using System.Globalization;
using System.Text;
using Npgsql;

namespace EventGateway.Tests.Support;

/// <summary>
/// A real PostgreSQL server on loopback (Debian package postgresql; .ci/run installs it): a cluster made with initdb
/// in a fresh directory, run as the `postgres` user (the server refuses root) on a free port, stopped on dispose.
/// <see cref="NewDatabaseAsync"/> hands each test its own database, so tests share one server and never each other's rows.
/// Use as a class fixture (IClassFixture&lt;PostgresServer&gt;) or create with <see cref="StartAsync"/>.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime, IAsyncDisposable
{
    private readonly StringBuilder _output = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("egw-postgres-").FullName;
    private Process? _process;
    private int _databases;

    public int Port { get; } = EventTestHost.FreePort();

    /// <summary>The maintenance database's URL (superuser egw, trust authentication on loopback).</summary>
    public string Url => $"postgres://egw@127.0.0.1:{Port}/postgres";

    public static async Task<PostgresServer> StartAsync()
    {
        var server = new PostgresServer();
        await server.InitializeAsync();
        return server;
    }

    public async Task InitializeAsync()
    {
        var bin = Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "postgres"))).Max(StringComparer.Ordinal) : null;
        if (bin is null) throw new InvalidOperationException("PostgreSQL is missing: apt-get install postgresql (see .ci/run)");
        var data = Path.Combine(_dir, "data");
        Directory.CreateDirectory(data);
        await RunAsync("chown", ["-R", "postgres:postgres", _dir]);
        // --no-sync: a test cluster need not survive a power cut; the server itself keeps fsync on.
        await RunAsync("setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", Path.Combine(bin, "initdb"), "-D", data, "-U", "egw", "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C"]);
        var psi = new ProcessStartInfo("setpriv") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--reuid=postgres", "--regid=postgres", "--init-groups", Path.Combine(bin, "postgres"), "-D", data,
                     "-p", Port.ToString(CultureInfo.InvariantCulture), "-k", _dir, "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300",
                     "-c", "shared_buffers=32MB",
                     // Its dynamic shared memory in the data directory, which goes with the fixture whatever ends the server.
                     "-c", "dynamic_shared_memory_type=mmap" })
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _process = p;
        await Eventually.Get(async () =>
        {
            if (p.HasExited) throw new InvalidOperationException($"postgres exited with {p.ExitCode}: {Output}");
            try
            {
                await using var c = new NpgsqlConnection(ConnectionString("postgres"));
                await c.OpenAsync();
                return "up";
            }
            catch (NpgsqlException)
            {
                return null;
            }
        }, $"postgres on 127.0.0.1:{Port} to accept connections", TimeSpan.FromSeconds(60));
    }

    /// <summary>A new, empty database on this server; its postgres:// URL.</summary>
    public async Task<string> NewDatabaseAsync()
    {
        var name = $"egw_test_{Interlocked.Increment(ref _databases)}";
        await using var c = new NpgsqlConnection(ConnectionString("postgres"));
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", c);
        await cmd.ExecuteNonQueryAsync();
        return $"postgres://egw@127.0.0.1:{Port}/{name}";
    }

    /// <summary>A keyword connection string for a database of this server, for tests that look at the rows themselves.</summary>
    public string ConnectionString(string database) => $"Host=127.0.0.1;Port={Port};Username=egw;Database={database};Pooling=false";

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    private static async Task RunAsync(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {p.ExitCode}: {await stderr}{await stdout}");
    }

    public async Task DisposeAsync()
    {
        if (_process is { } p)
        {
            _process = null;
            // A fast shutdown (SIGINT) gives the server's System V segment back; a kill left one per server (hundreds
            // after a day of test runs, against the kernel's limit of 4,096), and its shared memory in /dev/shm.
            if (!p.HasExited) await StopAsync(p);
            await p.WaitForExitAsync();
            p.Dispose();
        }
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }

    private static async Task StopAsync(Process server)
    {
        using (var kill = Process.Start("kill", ["-INT", server.Id.ToString(CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
        try { await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15)); }
        catch (TimeoutException) { server.Kill(entireProcessTree: true); }
    }

    ValueTask IAsyncDisposable.DisposeAsync() => new(DisposeAsync());
}
