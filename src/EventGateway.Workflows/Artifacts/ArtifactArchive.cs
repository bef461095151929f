using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json.Nodes;
using EventGateway.Model;

namespace EventGateway.Workflows.Artifacts;

/// <summary>
/// Argo's archive strategies. Outputs: tar+gzip by default (the file or directory under its own name),
/// <c>none</c> stores a file or a directory as it is, <c>zip</c> a zip file. Inputs: unpacked by the strategy the
/// input or its source names, else by looking: a gzip stream is a tarball, anything else a plain file.
/// </summary>
public static class ArtifactArchive
{
    public enum Kind { Tar, None, Zip }

    /// <summary>The strategy an archive field asks for, or why it is not one.</summary>
    public static (Kind Kind, int Level, string? Error) Parse(ArchiveStrategy? archive)
    {
        if (archive is null) return (Kind.Tar, -1, null);
        var set = new[] { archive.Tar, archive.None, archive.Zip }.Count(x => x is not null);
        if (set > 1) return (Kind.Tar, -1, "set only one of tar, none, zip");
        if (archive.None is not null) return (Kind.None, 0, null);
        if (archive.Zip is not null) return (Kind.Zip, 0, null);
        if (archive.Tar is JsonObject tar && tar["compressionLevel"] is { } level)
        {
            if (level is not JsonValue v || !v.TryGetValue<int>(out var n) || n is < -1 or > 9)
                return (Kind.Tar, -1, $"tar.compressionLevel: '{level.ToJsonString()}' is not a gzip level (-1 for the default, 0 to 9)");
            return (Kind.Tar, n, null);
        }
        return (Kind.Tar, -1, null);
    }

    /// <summary>
    /// Packs a step's output for an object store. Returns the file to upload and the name Argo gives the
    /// object under the key prefix: NAME.tgz, NAME.zip, or the file's own name without an archive.
    /// </summary>
    public static (string File, string ObjectName) Pack(string source, string artifactName, ArchiveStrategy? archive, string workDir)
    {
        var (kind, level, error) = Parse(archive);
        if (error is not null) throw new ArtifactException($"archive: {error}");
        var isDir = Directory.Exists(source);
        switch (kind)
        {
            case Kind.None:
                // A directory is stored as it is too: one object per file under the key (Argo's S3 PutDirectory).
                return (source, Path.GetFileName(source.TrimEnd(Path.DirectorySeparatorChar)));
            case Kind.Zip:
            {
                var zip = Path.Combine(workDir, artifactName + ".zip");
                File.Delete(zip);
                if (isDir) ZipFile.CreateFromDirectory(source, zip, CompressionLevel.Optimal, includeBaseDirectory: true);
                else
                {
                    using var archiveFile = ZipFile.Open(zip, ZipArchiveMode.Create);
                    archiveFile.CreateEntryFromFile(source, Path.GetFileName(source));
                }
                return (zip, artifactName + ".zip");
            }
            default:
            {
                var tgz = Path.Combine(workDir, artifactName + ".tgz");
                using (var file = File.Create(tgz))
                using (var gzip = new GZipStream(file, new ZLibCompressionOptions { CompressionLevel = level }))
                using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
                {
                    var name = Path.GetFileName(source.TrimEnd(Path.DirectorySeparatorChar));
                    if (!isDir) tar.WriteEntry(source, name);
                    else
                    {
                        tar.WriteEntry(source, name);
                        foreach (var entry in Directory.EnumerateFileSystemEntries(source, "*", SearchOption.AllDirectories))
                            tar.WriteEntry(entry, Path.Combine(name, Path.GetRelativePath(source, entry)));
                    }
                }
                return (tgz, artifactName + ".tgz");
            }
        }
    }

    /// <summary>Unpacks a downloaded object to <paramref name="target"/> (a file or a directory), consuming <paramref name="downloaded"/>.</summary>
    public static void Unpack(string downloaded, string target, ArchiveStrategy? archive)
    {
        var (kind, _, error) = archive is null ? (Directory.Exists(downloaded) ? Kind.None : Sniff(downloaded), 0, null) : Parse(archive);
        if (error is not null) throw new ArtifactException($"archive: {error}");
        if (Directory.Exists(target)) Directory.Delete(target, recursive: true);
        File.Delete(target);
        if (Directory.Exists(downloaded))
        {
            Directory.Move(downloaded, target); // an unarchived directory: its objects are the files
            return;
        }
        if (kind == Kind.None)
        {
            File.Move(downloaded, target);
            return;
        }
        var unpacked = target + ".unpacked";
        if (Directory.Exists(unpacked)) Directory.Delete(unpacked, recursive: true);
        Directory.CreateDirectory(unpacked);
        try
        {
            if (kind == Kind.Zip) ZipFile.ExtractToDirectory(downloaded, unpacked);
            else
            {
                using var file = File.OpenRead(downloaded);
                using var gzip = new GZipStream(file, CompressionMode.Decompress);
                TarFile.ExtractToDirectory(gzip, unpacked, overwriteFiles: true);
            }
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            Directory.Delete(unpacked, recursive: true);
            throw new ArtifactException($"not a {(kind == Kind.Zip ? "zip" : "tar.gz")} archive: {e.Message}", e);
        }
        finally { File.Delete(downloaded); }
        // An archive of one file or one directory becomes the input path itself, as Argo unpacks it.
        var top = Directory.GetFileSystemEntries(unpacked);
        if (top.Length == 1)
        {
            if (File.Exists(top[0])) File.Move(top[0], target);
            else Directory.Move(top[0], target);
            Directory.Delete(unpacked);
        }
        else Directory.Move(unpacked, target);
    }

    private static Kind Sniff(string path)
    {
        Span<byte> magic = stackalloc byte[4];
        using var f = File.OpenRead(path);
        var n = f.ReadAtLeast(magic, 4, throwOnEndOfStream: false);
        if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) return Kind.Tar;
        return n == 4 && magic[0] == (byte)'P' && magic[1] == (byte)'K' && magic[2] == 3 && magic[3] == 4 ? Kind.Zip : Kind.None;
    }
}
