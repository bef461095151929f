using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

// egw-kafka-mock TOPIC PARTITIONS: starts librdkafka's mock cluster (one broker on loopback), creates
// the topic, prints the bootstrap address on one line, and serves until SIGTERM or SIGINT.
if (args.Length != 2 || !int.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out var partitions) || partitions < 1)
{
    Console.Error.WriteLine("usage: egw-kafka-mock TOPIC PARTITIONS");
    return 2;
}
var error = new byte[512];
var handle = Native.rd_kafka_new(0, Native.rd_kafka_conf_new(), error, (UIntPtr)error.Length);
if (handle == IntPtr.Zero)
{
    Console.Error.WriteLine($"rd_kafka_new: {Encoding.UTF8.GetString(error).TrimEnd('\0')}");
    return 1;
}
var cluster = Native.rd_kafka_mock_cluster_new(handle, 1);
if (cluster == IntPtr.Zero || Native.rd_kafka_mock_topic_create(cluster, args[0], partitions, 1) != 0)
{
    Console.Error.WriteLine("could not start the mock cluster or create the topic");
    return 1;
}
Console.WriteLine(Marshal.PtrToStringUTF8(Native.rd_kafka_mock_cluster_bootstraps(cluster)));
Console.Out.Flush();

using var stop = new CancellationTokenSource();
using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
stop.Token.WaitHandle.WaitOne();
Native.rd_kafka_mock_cluster_destroy(cluster);
Native.rd_kafka_destroy(handle);
return 0;

internal static class Native
{
    private const string Lib = "librdkafka.so.1";

    [DllImport(Lib)] public static extern IntPtr rd_kafka_conf_new();
    [DllImport(Lib)] public static extern IntPtr rd_kafka_new(int type, IntPtr conf, byte[] errstr, UIntPtr errstrSize);
    [DllImport(Lib)] public static extern void rd_kafka_destroy(IntPtr rk);
    [DllImport(Lib)] public static extern IntPtr rd_kafka_mock_cluster_new(IntPtr rk, int brokerCount);
    [DllImport(Lib)] public static extern IntPtr rd_kafka_mock_cluster_bootstraps(IntPtr cluster);
    [DllImport(Lib)] public static extern void rd_kafka_mock_cluster_destroy(IntPtr cluster);
    [DllImport(Lib)] public static extern int rd_kafka_mock_topic_create(IntPtr cluster, [MarshalAs(UnmanagedType.LPUTF8Str)] string topic, int partitions, int replicationFactor);
}
