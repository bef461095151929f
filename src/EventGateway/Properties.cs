// Steps run as Linux processes in bubblewrap sandboxes; the engine targets Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
