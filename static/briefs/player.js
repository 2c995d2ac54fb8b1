// The brief page: a time in the transcript or the SOP seeks the video player; "Play:" links
// switch what the player shows.
document.addEventListener("click", (event) => {
  const player = document.getElementById("brief-player");
  if (!player) return;
  const seek = event.target.closest("[data-seek]");
  if (seek) {
    event.preventDefault();
    player.currentTime = parseFloat(seek.dataset.seek) || 0;
    player.scrollIntoView({ block: "nearest" });
    player.play().catch(() => {});
    return;
  }
  const play = event.target.closest("[data-play]");
  if (play) {
    event.preventDefault();
    player.src = play.dataset.play;
    player.play().catch(() => {});
  }
});
