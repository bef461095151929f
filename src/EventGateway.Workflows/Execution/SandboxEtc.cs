using System.Globalization;

namespace EventGateway.Workflows.Execution;

/// <summary>
/// The /etc a step sees: written per step (users depend on its uid), holding only what programs need to
/// run and resolve names, plus a few host files and directories bound read-only. Never /etc/shadow,
/// /etc/ssl/private or anything else of the host's configuration.
/// </summary>
internal static class SandboxEtc
{
    /// <summary>Host entries of /etc bound read-only when present: the dynamic loader, Debian's alternatives (/usr/bin/awk and friends point there), CA certificates, time zone, service names.</summary>
    private static readonly string[] HostEntries =
    [
        "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "ssl/certs", "ssl/openssl.cnf", "ca-certificates",
        "ca-certificates.conf", "timezone", "protocols", "services", "host.conf", "gai.conf", "mime.types",
    ];

    private static readonly Lazy<string> Resolv = new(() =>
    {
        try { return File.ReadAllText("/etc/resolv.conf"); }
        catch (IOException) { return ""; }
    });

    /// <summary>Writes the step's own files into <paramref name="dir"/>: users root, nobody and the step's uid.</summary>
    public static void Write(string dir, long uid, long gid)
    {
        Directory.CreateDirectory(dir);
        var u = uid.ToString(CultureInfo.InvariantCulture);
        var g = gid.ToString(CultureInfo.InvariantCulture);
        var passwd = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
        if (uid is not 0 and not 65534) passwd += $"step:x:{u}:{g}:step:/tmp:/bin/sh\n";
        var group = "root:x:0:\nnogroup:x:65534:\n";
        if (gid is not 0 and not 65534) group += $"step:x:{g}:\n";
        File.WriteAllText(Path.Combine(dir, "passwd"), passwd);
        File.WriteAllText(Path.Combine(dir, "group"), group);
        File.WriteAllText(Path.Combine(dir, "hosts"), "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        File.WriteAllText(Path.Combine(dir, "hostname"), "step\n");
        File.WriteAllText(Path.Combine(dir, "nsswitch.conf"), "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n");
        File.WriteAllText(Path.Combine(dir, "resolv.conf"), Resolv.Value);
    }

    /// <summary>bwrap arguments that mount <paramref name="dir"/> at /etc with the host's entries bound in, then make it read-only.</summary>
    public static void AddMounts(List<string> a, string dir)
    {
        a.AddRange(["--bind", dir, "/etc"]);
        a.AddRange(HostMounts.Value);
        a.AddRange(["--remount-ro", "/etc"]);
    }

    private static readonly Lazy<string[]> HostMounts = new(() =>
    {
        var a = new List<string>();
        foreach (var entry in HostEntries)
        {
            var host = "/etc/" + entry;
            if (File.Exists(host) || Directory.Exists(host)) a.AddRange(["--ro-bind", host, host]);
        }
        if (new FileInfo("/etc/localtime").LinkTarget is { } zone) a.AddRange(["--symlink", zone, "/etc/localtime"]);
        return [.. a];
    });
}
