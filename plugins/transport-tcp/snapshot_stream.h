// The two ends of a snapshot connection (wire_format.h), each run on a snapshot thread with a
// blocking socket: the sender reads its source one chunk at a time and writes it (the socket's
// back-pressure is the reader's pace; it never reads more than one chunk ahead), the receiver
// hands the handler a ByteSource that reads the chunks off the socket as the handler pulls them.
#ifndef KEEL_PLUGINS_TRANSPORT_TCP_SNAPSHOT_STREAM_H_
#define KEEL_PLUGINS_TRANSPORT_TCP_SNAPSHOT_STREAM_H_

#include <string>
#include <vector>

#include "keel/byte_stream.h"
#include "keel/status.h"
#include "keel/transport.h"
#include "keel/peer_url.h"
#include "snapshot_threads.h"
#include "transport_context.h"

namespace keel::tcp {

// Streams `metadata` and `data` to `to`, trying `urls` in turn, and returns the receiver's answer
// (the Status its handler returned), the source's error, or why the stream failed (Cancelled once
// the transport stops).
Status send_snapshot_stream(TransportContext& ctx, SnapshotThreads& threads,
                            SnapshotThreads::Slot& slot, MemberId to,
                            const std::vector<PeerUrl>& urls, const std::string& metadata,
                            ByteSource& data);

// Serves one incoming snapshot connection whose preface (from `from`) has been read and accepted:
// answers OK, reads the metadata, runs the handler, answers its Status. Owns `fd` (closes it).
void receive_snapshot_stream(TransportContext& ctx, SnapshotThreads& threads,
                             SnapshotThreads::Slot& slot, int fd, MemberId from);

}  // namespace keel::tcp

#endif  // KEEL_PLUGINS_TRANSPORT_TCP_SNAPSHOT_STREAM_H_
