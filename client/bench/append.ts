// Limit 2: a bare Socket.IO page that appends each delta's raw text as it arrives: what
// the transport alone allows, with no markdown and no framework.
import { connect, contentOf, nextPaint, request } from "./common";

const socket = connect();
const root = document.getElementById("out") as HTMLElement;

window.benchRun = async (command, marker) => {
  root.replaceChildren();
  let tail = "";
  let chars = 0;
  let events = 0;
  const { t0, finished } = request(socket, command, (p) => {
    events += 1;
    const piece = contentOf(p);
    chars += piece.length;
    root.append(piece);
    tail = (tail + piece).slice(-2 * marker.length);
    return tail.endsWith(marker);
  });
  const dom = await finished;
  const painted = await nextPaint();
  return { t0, dom, painted, events, chars };
};
