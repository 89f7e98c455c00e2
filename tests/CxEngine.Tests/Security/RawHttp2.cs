using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace CxEngine.Tests.Security;

/// <summary>
/// A client that writes HTTP/2 frames by hand (RFC 9113) on a plain TCP connection, so a test can do what no client
/// library allows: keep sending DATA on a stream after it reset the stream. Header blocks are HPACK literals
/// without indexing or Huffman coding (RFC 7541, 6.2.2), which every server must accept.
/// </summary>
internal sealed class RawHttp2 : IAsyncDisposable
{
    public const byte Data = 0x0, Headers = 0x1, RstStream = 0x3, Settings = 0x4, Ping = 0x6, GoAway = 0x7;
    private const byte EndHeaders = 0x4, Ack = 0x1;

    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;

    private RawHttp2(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public static async Task<RawHttp2> ConnectAsync(Uri server)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port);
        var client = new RawHttp2(tcp);
        await client._stream.WriteAsync("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray());
        await client.WriteFrameAsync(Settings, 0, 0, []);
        return client;
    }

    /// <summary>Opens a stream with a request's header block (pseudo-headers first).</summary>
    public Task OpenAsync(int streamId, params (string Name, string Value)[] headers)
    {
        var block = new List<byte>();
        foreach (var (name, value) in headers)
        {
            block.Add(0x00);
            Literal(block, name);
            Literal(block, value);
        }

        return WriteFrameAsync(Headers, EndHeaders, streamId, [.. block]);
    }

    /// <summary>One gRPC message (uncompressed, length-prefixed) in one DATA frame.</summary>
    public Task SendGrpcMessageAsync(int streamId, byte[] message)
    {
        var payload = new byte[5 + message.Length];
        BinaryPrimitives.WriteInt32BigEndian(payload.AsSpan(1), message.Length);
        message.CopyTo(payload, 5);
        return WriteFrameAsync(Data, 0, streamId, payload);
    }

    /// <summary>RST_STREAM with CANCEL (0x8): what a client library sends when its call is cancelled.</summary>
    public Task CancelAsync(int streamId) => WriteFrameAsync(RstStream, 0, streamId, [0, 0, 0, 8]);

    public Task PingAsync(long opaque)
    {
        var payload = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(payload, opaque);
        return WriteFrameAsync(Ping, 0, 0, payload);
    }

    /// <summary>Reads frames (acknowledging the server's settings) until one matches; null when the connection ends.</summary>
    public async Task<(byte Type, byte Flags, int StreamId, byte[] Payload)?> ReadUntilAsync(Func<byte, byte, int, byte[], bool> match, CancellationToken cancellationToken)
    {
        var header = new byte[9];
        while (true)
        {
            try
            {
                await _stream.ReadExactlyAsync(header, cancellationToken);
            }
            catch (Exception ex) when (ex is EndOfStreamException or IOException)
            {
                return null;
            }

            var length = (header[0] << 16) | (header[1] << 8) | header[2];
            var (type, flags) = (header[3], header[4]);
            var streamId = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(5)) & 0x7fffffff;
            var payload = new byte[length];
            await _stream.ReadExactlyAsync(payload, cancellationToken);
            if (type == Settings && (flags & Ack) == 0)
            {
                await WriteFrameAsync(Settings, Ack, 0, []);
            }

            if (match(type, flags, streamId, payload))
            {
                return (type, flags, streamId, payload);
            }
        }
    }

    public static bool IsPingAck(byte type, byte flags) => type == Ping && (flags & Ack) != 0;

    private async Task WriteFrameAsync(byte type, byte flags, int streamId, byte[] payload)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), streamId);
        payload.CopyTo(frame, 9);
        await _stream.WriteAsync(frame);
        await _stream.FlushAsync();
    }

    private static void Literal(List<byte> block, string text)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        if (bytes.Length >= 127)
        {
            throw new ArgumentException("header too long for this encoder", nameof(text));
        }

        block.Add((byte)bytes.Length);
        block.AddRange(bytes);
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _tcp.Dispose();
    }
}
