using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using EventGateway.Events.Kafka;

namespace EventGateway.Tests.Support;

/// <summary>
/// librdkafka's own mock cluster, in this process, on loopback: the real Kafka wire protocol (metadata,
/// fetch, consumer groups, offset commits). Messages are produced from outside with kcat, as a real
/// producer would. Disposing it stops its brokers.
/// </summary>
public sealed class KafkaMockCluster : IDisposable
{
    private IntPtr _handle;
    private IntPtr _cluster;

    private KafkaMockCluster(IntPtr handle, IntPtr cluster, string bootstraps) => (_handle, _cluster, Bootstraps) = (handle, cluster, bootstraps);

    /// <summary>host:port of every broker, comma-separated: the <c>url</c> of a kafka EventSource.</summary>
    public string Bootstraps { get; }

    // The mock cluster lives in the same librdkafka build the client binds to.
    static KafkaMockCluster() => NativeLibrary.SetDllImportResolver(typeof(KafkaMockCluster).Assembly, KafkaNative.Resolve);

    public static KafkaMockCluster Start(int brokers = 1)
    {
        KafkaNative.EnsureLoaded();
        var error = new byte[512];
        // The cluster needs a client instance to live in; a producer with no brokers of its own does.
        var handle = Native.rd_kafka_new(0, Native.rd_kafka_conf_new(), error, (UIntPtr)error.Length);
        if (handle == IntPtr.Zero) throw new InvalidOperationException($"rd_kafka_new: {Encoding.UTF8.GetString(error).TrimEnd('\0')}");
        var cluster = Native.rd_kafka_mock_cluster_new(handle, brokers);
        if (cluster == IntPtr.Zero)
        {
            Native.rd_kafka_destroy(handle);
            throw new InvalidOperationException("rd_kafka_mock_cluster_new failed");
        }
        return new KafkaMockCluster(handle, cluster, Marshal.PtrToStringUTF8(Native.rd_kafka_mock_cluster_bootstraps(cluster))!);
    }

    public void CreateTopic(string topic, int partitions = 1)
    {
        var err = Native.rd_kafka_mock_topic_create(_cluster, topic, partitions, 1);
        if (err != 0) throw new InvalidOperationException($"rd_kafka_mock_topic_create({topic}) failed with error {err}");
    }

    /// <summary>
    /// Produces one message per line with kcat in its own process (<c>key:value</c> lines with
    /// <paramref name="keyed"/>), each with the given headers, into one partition or by key hash.
    /// </summary>
    public async Task ProduceAsync(string topic, IEnumerable<string> lines, int? partition = null, bool keyed = true,
        IEnumerable<(string Key, string Value)>? headers = null)
    {
        var psi = new ProcessStartInfo("kcat") { RedirectStandardInput = true, RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "-b", Bootstraps, "-t", topic, "-P" }) psi.ArgumentList.Add(a);
        if (keyed) { psi.ArgumentList.Add("-K"); psi.ArgumentList.Add(":"); }
        if (partition is { } p) { psi.ArgumentList.Add("-p"); psi.ArgumentList.Add(p.ToString(System.Globalization.CultureInfo.InvariantCulture)); }
        foreach (var (k, v) in headers ?? []) { psi.ArgumentList.Add("-H"); psi.ArgumentList.Add($"{k}={v}"); }
        using var kcat = Process.Start(psi)!;
        var stderr = kcat.StandardError.ReadToEndAsync();
        var stdout = kcat.StandardOutput.ReadToEndAsync();
        foreach (var line in lines) await kcat.StandardInput.WriteAsync(line + "\n");
        kcat.StandardInput.Close();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await kcat.WaitForExitAsync(deadline.Token);
        if (kcat.ExitCode != 0) throw new InvalidOperationException($"kcat exited with {kcat.ExitCode}: {await stderr}{await stdout}");
    }

    public void Dispose()
    {
        if (_cluster != IntPtr.Zero) Native.rd_kafka_mock_cluster_destroy(_cluster);
        if (_handle != IntPtr.Zero) Native.rd_kafka_destroy(_handle);
        _cluster = _handle = IntPtr.Zero;
    }

    private static class Native
    {
        private const string Lib = KafkaNative.LibraryName;

        [DllImport(Lib)] public static extern IntPtr rd_kafka_conf_new();
        [DllImport(Lib)] public static extern IntPtr rd_kafka_new(int type, IntPtr conf, byte[] errstr, UIntPtr errstrSize);
        [DllImport(Lib)] public static extern void rd_kafka_destroy(IntPtr rk);
        [DllImport(Lib)] public static extern IntPtr rd_kafka_mock_cluster_new(IntPtr rk, int brokerCount);
        [DllImport(Lib)] public static extern IntPtr rd_kafka_mock_cluster_bootstraps(IntPtr cluster);
        [DllImport(Lib)] public static extern void rd_kafka_mock_cluster_destroy(IntPtr cluster);
        [DllImport(Lib)] public static extern int rd_kafka_mock_topic_create(IntPtr cluster, [MarshalAs(UnmanagedType.LPUTF8Str)] string topic, int partitions, int replicationFactor);
    }
}
