using System.Diagnostics;

namespace EventGateway.Tests.Support;

/// <summary>
/// Podman's Docker-compatible API on a fresh unix socket, served by a `podman system service` this fixture starts and
/// ends, with a test image imported from a busybox-static root filesystem (no registry is reachable here). runc, not
/// crun: crun refuses this kernel's hybrid cgroup layout. Missing tools fail the fixture with what to install.
/// </summary>
public sealed class PodmanService : IAsyncLifetime
{
    /// <summary>An argosay-like image: ENTRYPOINT echoes, CMD is its default argument.</summary>
    public const string Image = "egw-test/entrypoint:1";

    private readonly string _dir = Directory.CreateTempSubdirectory("egw-podman-").FullName;
    private Process? _service;

    public Uri Host => new($"unix://{Socket}");
    private string Socket => Path.Combine(_dir, "podman.sock");

    public async Task InitializeAsync()
    {
        foreach (var (tool, package) in new[] { ("podman", "podman"), ("runc", "runc"), ("busybox", "busybox-static") })
            if (Which(tool) is null) throw new InvalidOperationException($"the container executor tests need {tool}: apt-get install -y podman runc busybox-static");

        var rootfs = await BusyboxRootfsAsync("rootfs");
        await ImportAsync(rootfs, Image, "ENTRYPOINT [\"/bin/echo\", \"entrypoint:\"]", "CMD [\"default-cmd\"]");

        _service = Process.Start(new ProcessStartInfo("podman", ["--runtime", "runc", "system", "service", "--time=0", $"unix://{Socket}"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        _service.OutputDataReceived += (_, _) => { };
        _service.ErrorDataReceived += (_, _) => { };
        _service.BeginOutputReadLine();
        _service.BeginErrorReadLine();
        await Eventually.Get(async () => File.Exists(Socket) ? "up" : _service.HasExited ? throw new InvalidOperationException($"podman system service exited with {_service.ExitCode}") : null,
            $"podman's API socket {Socket}", TimeSpan.FromSeconds(60));
        // The socket exists before the service answers: wait for an answer, so no test's first request meets a cold engine.
        await Eventually.Get(async () => (await EventGateway.Workflows.Execution.ContainerEngine.ProbeAsync(Host)).Error is null ? "answers" : null,
            $"podman's API on {Socket}", TimeSpan.FromSeconds(120));
    }

    /// <summary>A root filesystem of busybox and a link per applet, so sh, echo and the rest exist (an alpine stand-in).</summary>
    public async Task<string> BusyboxRootfsAsync(string name)
    {
        var busybox = Which("busybox")!;
        var rootfs = Path.Combine(_dir, name);
        foreach (var d in new[] { "bin", "tmp", "etc", "root" }) Directory.CreateDirectory(Path.Combine(rootfs, d));
        File.Copy(busybox, Path.Combine(rootfs, "bin", "busybox"));
        var applets = (await RunAsync(busybox, ["--list"])).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        foreach (var applet in applets.Where(a => a != "busybox"))
            File.CreateSymbolicLink(Path.Combine(rootfs, "bin", applet), "busybox");
        File.WriteAllText(Path.Combine(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n");
        File.WriteAllText(Path.Combine(rootfs, "etc", "group"), "root:x:0:\nnobody:x:65534:\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(Path.Combine(rootfs, "tmp"), (UnixFileMode)0x1FF | UnixFileMode.StickyBit);
        return rootfs;
    }

    /// <summary>
    /// A busybox root filesystem with the host's Debian python3 (its standard library, extension modules and the
    /// shared libraries they load), standing in for python:3.x images: `python` and `python3` both run it.
    /// </summary>
    public async Task<string> PythonRootfsAsync(string name)
    {
        var rootfs = await BusyboxRootfsAsync(name);
        var python = new FileInfo("/usr/bin/python3").ResolveLinkTarget(true)?.FullName ?? "/usr/bin/python3";
        var version = Path.GetFileName(python); // python3.11
        var stdlib = $"/usr/lib/{version}";
        await RunAsync("sh", ["-c", $"tar -C / --exclude={stdlib[1..]}/test --exclude={stdlib[1..]}/idlelib --exclude={stdlib[1..]}/tkinter -cf - {python[1..]} {stdlib[1..]} | tar -C {rootfs} -xf -"]);
        // The dynamic loader and every library the interpreter and its extension modules need, copied to where they are looked for.
        var objects = (await RunAsync("sh", ["-c", $"ls {stdlib}/lib-dynload/*.so"])).Split('\n', StringSplitOptions.RemoveEmptyEntries).Prepend(python);
        var libs = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var o in objects)
            foreach (var line in (await RunAsync("ldd", [o])).Split('\n'))
                // "libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
                if (line.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(w => w.StartsWith('/')).FirstOrDefault() is { } lib) libs.Add(lib);
        foreach (var lib in libs)
        {
            var target = Path.Combine(rootfs, lib.TrimStart('/'));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            if (!File.Exists(target)) File.Copy(new FileInfo(lib).ResolveLinkTarget(true)?.FullName ?? lib, target);
        }
        foreach (var link in new[] { "python3", "python" })
            File.CreateSymbolicLink(Path.Combine(rootfs, "usr", "bin", link), version);
        return rootfs;
    }

    /// <summary>
    /// An argosay-like image (Argo's e2e test image): a busybox root filesystem whose ENTRYPOINT is /argosay, a small sh
    /// program: no arguments or `echo` print "hello argo", `echo TEXT` prints TEXT, `echo TEXT FILE` writes it to FILE
    /// (making its directory), `cat FILE`, `assert_contains FILE TEXT` (fails unless FILE holds TEXT), `sleep DURATION`,
    /// `exit [N]`; anything else exits 1.
    /// </summary>
    public async Task ArgosayImageAsync(string image)
    {
        var rootfs = await BusyboxRootfsAsync("argosay");
        var program = Path.Combine(rootfs, "argosay");
        File.WriteAllText(program, """
            #!/bin/sh
            set -eu
            verb=${1:-}
            [ $# -gt 0 ] && shift
            case $verb in
              '') echo "hello argo" ;;
              echo)
                if [ $# -eq 0 ]; then echo "hello argo"
                elif [ $# -eq 1 ]; then echo "$1"
                elif [ $# -eq 2 ]; then mkdir -p "$(dirname "$2")"; echo "$1" > "$2"
                else exit 1; fi ;;
              cat) cat "$1" ;;
              assert_contains) grep -F -- "$2" "$1" ;;
              sleep) sleep "${1%s}" ;;
              exit) exit "${1:-0}" ;;
              *) echo "argosay: unknown command '$verb'" >&2; exit 1 ;;
            esac

            """);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(program, (UnixFileMode)0x1ED); // 0755
        await ImportAsync(rootfs, image, "ENTRYPOINT [\"/argosay\"]");
    }

    /// <summary>Imports a root filesystem as an image (no registry here), with Dockerfile-style changes (ENTRYPOINT, CMD, ENV).</summary>
    public async Task ImportAsync(string rootfs, string image, params string[] changes)
    {
        var tar = rootfs + ".tar";
        await RunAsync("tar", ["-C", rootfs, "-cf", tar, "."]);
        await RunAsync("podman", ["--runtime", "runc", "import", .. changes.SelectMany(c => new[] { "--change", c }), tar, image]);
        File.Delete(tar);
    }

    private readonly Dictionary<string, Task> _once = [];

    /// <summary>Runs <paramref name="make"/> once per service, e.g. to build the images a test class needs.</summary>
    public Task OnceAsync(string what, Func<Task> make)
    {
        lock (_once)
        {
            if (!_once.TryGetValue(what, out var task)) _once[what] = task = make();
            return task;
        }
    }

    /// <summary>Gives an image another name, e.g. the one a fixture's YAML uses (alpine:3.20, argoproj/argosay:v2).</summary>
    public static Task TagAsync(string image, params string[] names) => RunAsync("podman", ["tag", image, .. names]);

    /// <summary>Whether the engine has a container of that name (running or not).</summary>
    public static async Task<bool> ContainerExistsAsync(string name) =>
        (await RunAsync("podman", ["ps", "-a", "--format", "{{.Names}}"])).Split('\n', StringSplitOptions.TrimEntries).Contains(name);

    private static string? Which(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':').Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);

    private static async Task<string> RunAsync(string file, string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({p.ExitCode}): {await stderr}");
        return await stdout;
    }

    public async Task DisposeAsync()
    {
        if (_service is { HasExited: false })
        {
            _service.Kill();
            await _service.WaitForExitAsync();
        }
        _service?.Dispose();
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }
}
