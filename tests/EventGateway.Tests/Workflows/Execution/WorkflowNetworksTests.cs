using System.Net;
using System.Net.Sockets;
using System.Diagnostics;
using EventGateway.Tests.Support;
using EventGateway.Workflows.Execution;
using Shouldly;
using Xunit.Abstractions;

namespace EventGateway.Tests.Workflows.Execution;

/// <summary>The pool of prepared network namespaces, on real namespaces with real pasta.</summary>
public sealed class WorkflowNetworksTests(ITestOutputHelper output) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("egw-netns-");
    private readonly List<Process> _started = [];

    private WorkflowNetworks New() => new(_dir.FullName);

    private static ulong Inode(string path) => NetnsFacts.Inode(path) ?? throw new Xunit.Sdk.XunitException($"{path} is no namespace");

    /// <summary>The service's namespaces (/run/netns), and any link to them where earlier versions kept one per workflow (none now).</summary>
    private static string[] Names(WorkflowNetworks n) =>
        [.. new[] { "/run/netns", WorkflowNetworks.AliasDir }.Where(Directory.Exists)
            .SelectMany(d => Directory.EnumerateFileSystemEntries(d, n.Prefix + "*")).Select(Path.GetFileName).OfType<string>()];

    private static async Task UntilAsync(Func<bool> condition, string what) =>
        await Eventually.Get(() => Task.FromResult(condition() ? "" : null), what);

    /// <summary>A process that sits in the namespace, as a step that outlived its pid namespace would.</summary>
    private Process Squatter(string netns)
    {
        var p = Process.Start("/usr/bin/nsenter", ["--net=" + netns, "--", "sleep", "600"]);
        _started.Add(p);
        return p;
    }

    [Fact]
    public async Task Acquire_takes_a_prepared_namespace_instead_of_making_one()
    {
        using var n = New();
        var watch = Stopwatch.StartNew();
        var cold = n.Acquire("default", "first");
        var coldTime = watch.Elapsed;
        await UntilAsync(() => n.Pool.Ready == NetnsPool.ReadyTarget, "the pool to fill");

        watch.Restart();
        var pooled = n.Acquire("default", "second");
        var pooledTime = watch.Elapsed;
        output.WriteLine($"Acquire cold (ip netns add, lo up, pasta): {coldTime.TotalMilliseconds:F2} ms; from the pool: {pooledTime.TotalMilliseconds:F3} ms");

        Inode(pooled).ShouldNotBe(Inode(cold));
        pooledTime.ShouldBeLessThan(coldTime);
        n.Acquire("default", "second").ShouldBe(pooled); // the workflow's next step joins it
        n.Release("default", "second");
        n.Release("default", "second");
        n.Release("default", "first");
    }

    [Fact]
    public async Task A_released_namespace_is_recycled_for_the_same_argo_namespace_only()
    {
        using var n = New();
        var first = Inode(n.Acquire("team-a", "one"));
        n.Release("team-a", "one");
        await UntilAsync(() => n.Pool.Idle == 1, "the namespace to be checked and recycled");

        Inode(n.Acquire("team-b", "other")).ShouldNotBe(first); // its counters tell team-a's traffic volume
        Inode(n.Acquire("team-a", "two")).ShouldBe(first);
        n.Release("team-b", "other");
        n.Release("team-a", "two");
    }

    [Fact]
    public async Task A_namespace_idle_for_longer_than_the_pool_keeps_one_is_deleted_with_its_pasta()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        using var n = new WorkflowNetworks(_dir.FullName, time: time);
        var path = n.Acquire("default", "quiet");
        var name = Path.GetFileName(path);
        n.Release("default", "quiet");
        await UntilAsync(() => n.Pool.Idle == 1, "the namespace to be recycled");

        time.Advance(NetnsPool.IdleFor - TimeSpan.FromSeconds(1));
        n.Pool.Wake();
        await UntilAsync(() => n.Pool.Ready == NetnsPool.ReadyTarget, "the pool to settle");
        n.Pool.Idle.ShouldBe(1);
        File.Exists(WorkflowNetworks.PathOf(name)).ShouldBeTrue();

        time.Advance(TimeSpan.FromSeconds(1));
        n.Pool.Wake();
        await UntilAsync(() => n.Pool.Idle == 0 && !File.Exists(WorkflowNetworks.PathOf(name)), "the idle namespace to be deleted");
        await UntilAsync(() => !PastaFor(name), "its pasta to end");
    }

    private static bool PastaFor(string name)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _)) continue;
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "cmdline")).Contains("/run/netns/" + name + "\0", StringComparison.Ordinal)) return true;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return false;
    }

    [Fact]
    public async Task A_pasta_still_running_after_its_namespace_name_went_is_ended_at_the_next_start()
    {
        Tools.Pasta.ShouldNotBeNull("pasta (Debian's passt) is installed by .ci/run");
        using var n = New();
        var name = n.Prefix + "porphan";
        var path = "/run/netns/" + name;
        Process.Start("ip", ["netns", "add", name])!.WaitForExit();
        // --no-netns-quit: the state a killed service's pasta was found in, kept running with its name gone.
        Process.Start("/bin/sh", ["-c", "exec \"$0\" \"$@\" </dev/null >/dev/null 2>&1", "/usr/bin/env", "--default-signal=PIPE", Tools.Pasta!,
            "--runas", "0:0", "--netns", path, "--no-netns-quit", "--config-net", "-t", "none", "-u", "none", "-T", "none", "-U", "none", "-q"])!.WaitForExit();
        await UntilAsync(() => Pastas(n.Prefix).Count == 1, "pasta to run");
        NetnsFacts.RemoveName(path);
        Pastas(n.Prefix).Count.ShouldBe(1);

        new WorkflowNetworks(_dir.FullName).RemoveLeftovers();

        await UntilAsync(() => Pastas(n.Prefix).Count == 0, "the orphaned pasta to be ended");
    }

    [Fact]
    public async Task Concurrently_held_namespaces_are_never_shared()
    {
        using var n = New();
        for (var round = 0; round < 3; round++)
        {
            var workflows = Enumerable.Range(0, 6).Select(i => $"wf-{round}-{i}").ToList();
            var paths = await Task.WhenAll(workflows.Select(w => Task.Run(() => n.Acquire("default", w))));
            paths.Select(Inode).Distinct().Count().ShouldBe(workflows.Count);
            foreach (var w in workflows) n.Release("default", w);
            await UntilAsync(() => n.Pool.Idle == workflows.Count, "the namespaces to be recycled");
        }
    }

    [Fact]
    public async Task A_namespace_a_process_is_still_in_is_deleted_instead_of_recycled()
    {
        using var n = New();
        var path = n.Acquire("default", "one");
        var squatter = Squatter(path);
        await UntilAsync(() => NetnsFacts.Occupied().Contains(Inode(path)), "the process to be in the namespace");

        n.Release("default", "one");
        await UntilAsync(() => !File.Exists(path), "the namespace's name to be removed");
        n.Pool.Idle.ShouldBe(0);
        squatter.HasExited.ShouldBeFalse(); // removing the name ends nothing: the namespace lives as long as the process
    }

    [Fact]
    public async Task Disposing_deletes_every_namespace_no_step_holds_and_their_pastas()
    {
        var n = New();
        var held = n.Acquire("default", "running");
        n.Acquire("default", "ended");
        n.Release("default", "ended");
        await UntilAsync(() => n.Pool.Idle == 1 && n.Pool.Ready == NetnsPool.ReadyTarget, "the pool to fill");

        n.Dispose();

        Names(n).ShouldBe([Path.GetFileName(held)]); // the running step's namespace, and nothing per workflow
        await UntilAsync(() => Pastas(n.Prefix).Count == (Tools.Pasta is null ? 0 : 1), "pasta of the deleted namespaces to quit");
        new WorkflowNetworks(_dir.FullName).RemoveLeftovers();
        Names(n).ShouldBeEmpty();
        await UntilAsync(() => Pastas(n.Prefix).Count == 0, "the last pasta to quit");
    }

    [Fact]
    public async Task Leftovers_are_removed_at_start_except_a_namespace_a_step_still_runs_in_which_its_workflow_gets_back()
    {
        var crashed = New(); // never disposed: a service that was killed
        var running = crashed.Acquire("default", "running");
        crashed.Acquire("default", "ended");
        var squatter = Squatter(running);
        await UntilAsync(() => NetnsFacts.Occupied().Contains(Inode(running)) && crashed.Pool.Ready == NetnsPool.ReadyTarget, "the step to run and the pool to fill");

        using var restarted = New();
        restarted.RemoveLeftovers([("default", "running", Path.GetFileName(running)), ("default", "ended", "egw-not-a-namespace")]);

        Names(restarted).ShouldBe([Path.GetFileName(running)]); // the running step's namespace
        restarted.Acquire("default", "running").ShouldBe(running); // the adopted step's bookkeeping, and a new sibling, join it
        squatter.Kill();
        await squatter.WaitForExitAsync();
        restarted.Release("default", "running");
        await UntilAsync(() => restarted.Pool.Idle == 1, "the namespace to be recycled");
        crashed.Pool.Dispose(); // ends the killed service's background thread: nothing of its names is left to delete
    }

    [Theory]
    [InlineData("tcp listener")]
    [InlineData("udp")]
    [InlineData("udp6")]
    [InlineData("raw")]
    [InlineData("unix")]
    public void A_socket_of_any_kind_left_in_a_namespace_is_seen(string kind)
    {
        using var n = New();
        var path = n.Acquire("default", "leaves-" + kind.Replace(' ', '-'));
        NetnsFacts.Sockets(path).ShouldBe(0);
        // Made from a thread inside the namespace, as a step's process would make it there.
        using var socket = NetnsFacts.Inside(path, () =>
        {
            var s = kind switch
            {
                "tcp listener" => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp),
                "udp" => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp),
                "udp6" => new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp),
                "raw" => new Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Icmp),
                _ => new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified),
            };
            if (kind == "tcp listener") { s.Bind(new IPEndPoint(IPAddress.Loopback, 0)); s.Listen(); }
            else if (kind is "udp") s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            else if (kind is "udp6") s.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
            else if (kind is "unix") { s.Bind(new UnixDomainSocketEndPoint("\0egw-test-" + Guid.NewGuid().ToString("N"))); s.Listen(); }
            return s;
        });

        NetnsFacts.Sockets(path).ShouldBeGreaterThan(0, $"a {kind} socket in the namespace");
        socket.Dispose();
        NetnsFacts.Sockets(path).ShouldBe(0);
        n.Release("default", "leaves-" + kind.Replace(' ', '-'));
    }

    [Fact]
    public void Checking_a_namespace_before_recycling_is_cheap()
    {
        using var n = New();
        var path = n.Acquire("default", "one");
        NetnsFacts.Occupied();
        NetnsFacts.Sockets(path);
        const int rounds = 50;
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < rounds; i++) NetnsFacts.Occupied();
        var scan = watch.Elapsed / rounds;
        watch.Restart();
        for (var i = 0; i < rounds; i++) NetnsFacts.Sockets(path).ShouldBe(0);
        var sockets = watch.Elapsed / rounds;
        var processes = Directory.EnumerateDirectories("/proc").Count(d => char.IsAsciiDigit(Path.GetFileName(d)[0]));
        output.WriteLine($"/proc scan for occupied namespaces ({processes} processes): {scan.TotalMicroseconds:F0} µs; socket tables of one namespace: {sockets.TotalMicroseconds:F0} µs");
        scan.ShouldBeLessThan(TimeSpan.FromMilliseconds(50));
        sockets.ShouldBeLessThan(TimeSpan.FromMilliseconds(50));
        n.Release("default", "one");
    }

    internal static List<int> Pastas(string prefix)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var cmdline = File.ReadAllText(dir + "/cmdline");
                if (cmdline.Contains("pasta", StringComparison.Ordinal) && cmdline.Contains("/run/netns/" + prefix, StringComparison.Ordinal)) found.Add(pid);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return found;
    }

    public void Dispose()
    {
        foreach (var p in _started)
        {
            if (!p.HasExited) p.Kill();
            p.WaitForExit();
            p.Dispose();
        }
        new WorkflowNetworks(_dir.FullName).RemoveLeftovers();
        _dir.Delete(recursive: true);
    }
}
