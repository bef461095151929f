using System.Security.Cryptography;
using System.Text;

namespace EventGateway.Workflows.Execution;

/// <summary>
/// The /etc every step sees: one directory per service, made once at start and mounted read-only into each
/// sandbox, holding only what programs need to run and resolve names, copied from the host's /etc. Never
/// /etc/shadow, /etc/ssl/private or anything else of the host's configuration. Users and groups depend on
/// the step's uid: passwd and group link to /run/egw, which the launcher writes per step on the sandbox's
/// private /run, so no step writes any /etc file of its own.
/// </summary>
internal static class SandboxEtc
{
    /// <summary>Host entries of /etc copied when present: the dynamic loader, Debian's alternatives (/usr/bin/awk and friends point there), CA certificates, time zone, service names.</summary>
    private static readonly string[] HostEntries =
    [
        "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "ssl/certs", "ssl/openssl.cnf", "ca-certificates",
        "ca-certificates.conf", "timezone", "localtime", "protocols", "services", "host.conf", "gai.conf", "mime.types",
    ];

    private static readonly (string Name, string Text)[] Own =
    [
        ("hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"),
        ("hostname", "step\n"),
        ("nsswitch.conf", "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n"),
    ];

    /// <summary>Writes the shared /etc into <paramref name="dir"/>.</summary>
    public static void Write(string dir)
    {
        Directory.CreateDirectory(dir);
        foreach (var (name, text) in Own) File.WriteAllText(Path.Combine(dir, name), text);
        File.CreateSymbolicLink(Path.Combine(dir, "passwd"), "/run/egw/passwd");
        File.CreateSymbolicLink(Path.Combine(dir, "group"), "/run/egw/group");
        foreach (var entry in HostEntries) Copy(Path.Combine("/etc", entry), Path.Combine(dir, entry));
        // The host's resolver, by content: its link (often into /run) would point nowhere in the sandbox.
        try { File.WriteAllText(Path.Combine(dir, "resolv.conf"), File.ReadAllText("/etc/resolv.conf")); }
        catch (IOException) { }
    }

    /// <summary>Copies a file, a symlink (as a symlink) or a directory tree; a missing or unreadable entry is left out.</summary>
    private static void Copy(string from, string to)
    {
        try
        {
            var info = new FileInfo(from);
            if (info.LinkTarget is { } target)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                File.CreateSymbolicLink(to, target);
            }
            else if (Directory.Exists(from))
            {
                Directory.CreateDirectory(to);
                foreach (var child in Directory.EnumerateFileSystemEntries(from)) Copy(child, Path.Combine(to, Path.GetFileName(child)));
            }
            else if (info.Exists)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                File.Copy(from, to);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

}
