using System.Collections.Frozen;
using System.Security.Cryptography;

namespace EventGateway.Server.Ui;

/// <summary>One file of the UI as served: its bytes, media type and a strong ETag.</summary>
public sealed record UiAsset(string Path, byte[] Content, string ContentType, string ETag);

/// <summary>
/// The UI's files, embedded in this assembly (Ui/assets/**, logical names "ui/...") so a published egw carries them and
/// nothing is read from disk at run time. Read once; there is no build step, the files are served as written.
/// </summary>
public static class UiAssets
{
    private const string Prefix = "ui/";

    private static readonly FrozenDictionary<string, string> Types = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
        [".txt"] = "text/plain; charset=utf-8",
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    /// <summary>By path under assets/ ("app.js", "vendor/dagre.esm.js").</summary>
    public static FrozenDictionary<string, UiAsset> All { get; } = Load();

    private static FrozenDictionary<string, UiAsset> Load()
    {
        var assembly = typeof(UiAssets).Assembly;
        var files = new Dictionary<string, UiAsset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames())
        {
            if (!name.StartsWith(Prefix, StringComparison.Ordinal)) continue;
            var path = name[Prefix.Length..];
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            var type = Types.GetValueOrDefault(System.IO.Path.GetExtension(path), "application/octet-stream");
            files[path] = new UiAsset(path, bytes, type, $"\"{Convert.ToHexString(SHA256.HashData(bytes))[..16]}\"");
        }
        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
