using System.Reflection;
using System.Runtime.InteropServices;

namespace EventGateway.Events.Kafka;

/// <summary>
/// Binds Confluent.Kafka to the librdkafka build from librdkafka.redist that loads on this machine. The
/// redist's default Linux build needs libsasl2.so.3, which Debian 12 lacks; its CentOS 8 build needs only
/// what every glibc system has. Only the redist's files are tried, never a distribution's librdkafka (an older
/// one lacks symbols the 2.x bindings call).
/// </summary>
public static class KafkaNative
{
    /// <summary>The name the bindings (and the tests' mock cluster) import; it resolves to <see cref="Path"/>.</summary>
    public const string LibraryName = "librdkafka";

    /// <summary>The redist's builds, in order of preference.</summary>
    private static readonly string[] Builds = ["librdkafka.so", "centos8-librdkafka.so"];

    private static readonly Lock Gate = new();
    private static IntPtr _handle;

    /// <summary>The library loaded; null before <see cref="EnsureLoaded"/>.</summary>
    public static string? Path { get; private set; }

    /// <summary>Idempotent; safe from any thread. Throws with the reason when no build can be loaded.</summary>
    public static IntPtr EnsureLoaded()
    {
        lock (Gate)
        {
            if (_handle != IntPtr.Zero) return _handle;
            var tried = new List<string>();
            foreach (var candidate in Candidates())
            {
                if (!File.Exists(candidate)) continue;
                if (NativeLibrary.TryLoad(candidate, out var handle))
                {
                    (_handle, Path) = (handle, candidate);
                    break;
                }
                tried.Add(candidate);
            }
            if (_handle == IntPtr.Zero)
                throw new InvalidOperationException(tried.Count == 0
                    ? $"kafka: librdkafka.redist's native library is missing (looked in {string.Join(", ", Directories())})"
                    : $"kafka: none of librdkafka.redist's builds loads here ({string.Join(", ", tried)}); each needs the system libraries ldd lists for it");
            try
            {
                NativeLibrary.SetDllImportResolver(typeof(Confluent.Kafka.Library).Assembly, Resolve);
            }
            catch (InvalidOperationException)
            {
                // Someone else installed a resolver for the assembly already; theirs stands.
            }
            Confluent.Kafka.Library.Load(Path!);
            return _handle;
        }
    }

    /// <summary>
    /// Every librdkafka name the bindings try is the build chosen above; "libdl", which the bindings dlopen the
    /// library through, is libdl.so.2 (modern glibc ships no unversioned libdl.so without its -dev package).
    /// </summary>
    public static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path) => name switch
    {
        "libdl" => NativeLibrary.TryLoad("libdl.so.2", out var dl) ? dl : IntPtr.Zero,
        _ when name.Contains("librdkafka", StringComparison.Ordinal) => EnsureLoaded(),
        _ => IntPtr.Zero,
    };

    private static IEnumerable<string> Candidates() =>
        Directories().SelectMany(dir => Builds.Select(b => System.IO.Path.Combine(dir, b)));

    /// <summary>Beside the assemblies (a RID-specific publish flattens the natives there), or under runtimes/ (any other build).</summary>
    private static IEnumerable<string> Directories()
    {
        var arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        yield return AppContext.BaseDirectory;
        yield return System.IO.Path.Combine(AppContext.BaseDirectory, "runtimes", $"linux-{arch}", "native");
    }
}
