/* mintrac's page: sign-in, the device list, a device's track for a date
 * range drawn with Leaflet and coloured by speed, live fixes over
 * Server-Sent Events, device management and downloads.
 *
 * Plain JavaScript, no build step. Everything from the server (device
 * names, attributes, settings text) reaches the DOM through textContent or
 * createElement only, never innerHTML: names such as "<img src=x>" are
 * valid device names and must show as text. The CSP forbids inline script
 * and style attributes in markup; style set from script (element.style,
 * as Leaflet does) is allowed. */
'use strict';

(function () {
	const DAY_MS = 86400000;
	const REFRESH_MS = 30000;          /* device list and "ago" texts */
	const STREAM_BACKOFF_MAX = 30000;
	const FIRST_ZOOM = 12;
	const UNITS_KEY = 'mintrac.units';
	const CLEAN_KEY = 'mintrac.clean';

	/* Speed buckets (m/s upper bounds) and their colours; style.css has
	 * the same colours as .speed-N for the legend. */
	const BUCKETS = [
		{ max: 2, color: '#2f7de1' },
		{ max: 7, color: '#12a37f' },
		{ max: 14, color: '#e0a100' },
		{ max: 25, color: '#e0492f' },
		{ max: Infinity, color: '#a23bd6' },
	];
	const UNKNOWN_COLOR = '#7f8794';

	const $ = (id) => document.getElementById(id);

	const state = {
		user: '',
		csrf: '',
		config: {
			tile_url: 'https://tile.openstreetmap.org/{z}/{x}/{y}.png',
			tile_attribution: '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
		},
		devices: [],
		selected: null,          /* device name */
		range: null,             /* {preset, from: Date, to: Date, auto} */
		fixes: [],               /* drawn fixes, time order */
		runs: [],                /* [{line, bucket, start, end}] indexes into fixes */
		fetchedZoom: null,
		loadSeq: 0,
		loadAbort: null,
		signedIn: false,
		es: null,
		esTimer: null,
		esBackoff: 1000,
		esHadError: false,
		refreshTimer: null,
		zoomTimer: null,
		units: 'kmh',
		clean: false,
		zone: '',               /* the user's (GET /api/me) */
		zoneDismissed: false,
		day: '',                /* yyyy-mm-dd in the day view */
		daySeq: 0,
		pendingDelete: null,     /* {device, from, to} counted, awaiting the second press */
	};

	let map = null;
	let svg = null;
	let tiles = null;
	let trackLayer = null;
	let markerLayer = null;
	let singlePoint = null;
	const markers = new Map();   /* device name -> L.circleMarker */
	let tilesLoaded = 0;

	/* ---------------------------------------------------------------- */
	/* formatting                                                        */

	const timeFmt = new Intl.DateTimeFormat(undefined, {
		year: 'numeric', month: 'short', day: 'numeric',
		hour: '2-digit', minute: '2-digit', second: '2-digit',
		timeZoneName: 'short',
	});
	const spanFmt = new Intl.DateTimeFormat(undefined, {
		month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit',
		timeZoneName: 'short',
	});
	const dayFmt = new Intl.DateTimeFormat(undefined, {
		weekday: 'short', year: 'numeric', month: 'short', day: 'numeric',
	});
	const numFmt = new Intl.NumberFormat(undefined);
	const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

	function fmtTime(ms) { return timeFmt.format(new Date(ms)); }
	function fmtDay(d) { return dayFmt.format(d); }
	function fmtCount(n, one, many) { return numFmt.format(n) + ' ' + (n === 1 ? one : many); }

	function fmtAgo(ms) {
		const s = Math.round((ms - Date.now()) / 1000);
		const a = Math.abs(s);
		if (a < 45) return 'just now';
		if (a < 3600) return rtf.format(Math.round(s / 60), 'minute');
		if (a < 86400) return rtf.format(Math.round(s / 3600), 'hour');
		return rtf.format(Math.round(s / 86400), 'day');
	}

	function fmtSpeed(ms) {
		if (state.units === 'mph')
			return (ms * 2.2369363).toFixed(1) + ' mph';
		return (ms * 3.6).toFixed(1) + ' km/h';
	}

	function fmtLength(m) {
		if (state.units === 'mph')
			return Math.round(m * 3.2808399) + ' ft';
		return (Math.round(m * 10) / 10) + ' m';
	}

	/* yyyy-mm-dd of a local date, for <input type=date>. */
	function dateValue(d) {
		const p = (n) => String(n).padStart(2, '0');
		return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate());
	}

	function parseDateValue(v) {
		const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
		return m ? new Date(+m[1], +m[2] - 1, +m[3]) : null;
	}

	function dayStart(d) { const x = new Date(d); x.setHours(0, 0, 0, 0); return x; }
	/* setDate keeps local midnight across daylight-saving changes. */
	function addDays(d, n) { const x = new Date(d); x.setDate(x.getDate() + n); return x; }
	function dayEnd(d) { return new Date(addDays(dayStart(d), 1).getTime() - 1); }

	function bucketOf(speed) {
		if (typeof speed !== 'number' || !isFinite(speed)) return -1;
		for (let i = 0; i < BUCKETS.length; i++)
			if (speed < BUCKETS[i].max) return i;
		return BUCKETS.length - 1;
	}
	function bucketColor(b) { return b < 0 ? UNKNOWN_COLOR : BUCKETS[b].color; }

	function el(tag, cls, text) {
		const e = document.createElement(tag);
		if (cls) e.className = cls;
		if (text !== undefined) e.textContent = text;
		return e;
	}

	function show(node, on) { node.hidden = !on; }

	/* ---------------------------------------------------------------- */
	/* the API                                                           */

	class ApiError extends Error {
		constructor(status, message, retryAfter) {
			super(message);
			this.status = status;
			this.retryAfter = retryAfter;
		}
	}

	async function api(method, path, body, opts) {
		const init = { method, headers: {}, credentials: 'same-origin', cache: 'no-store' };
		if (body !== undefined) {
			init.headers['Content-Type'] = 'application/json';
			init.body = JSON.stringify(body);
		}
		if (method !== 'GET' && state.csrf)
			init.headers['X-CSRF-Token'] = state.csrf;
		if (opts && opts.signal)
			init.signal = opts.signal;
		const r = await fetch(path, init);
		let data = null;
		if ((r.headers.get('Content-Type') || '').includes('json')) {
			try { data = await r.json(); } catch (e) { data = null; }
		}
		if (!r.ok) {
			const msg = data && typeof data.error === 'string' ? data.error : r.status + ' ' + r.statusText;
			if (r.status === 401 && !(opts && opts.expect401))
				signedOut('Your session has ended; please sign in again.');
			throw new ApiError(r.status, msg, r.headers.get('Retry-After'));
		}
		return data;
	}

	function pointsUrl(params) {
		const q = new URLSearchParams();
		for (const k of Object.keys(params))
			if (params[k] !== undefined && params[k] !== null) q.set(k, params[k]);
		return '/api/points?' + q.toString();
	}

	/* GeoJSON Feature -> the fix the page works with. */
	function toFix(f) {
		if (!f || !f.geometry || !Array.isArray(f.geometry.coordinates)) return null;
		const c = f.geometry.coordinates;
		const p = f.properties || {};
		const t = Date.parse(p.time);
		if (typeof c[0] !== 'number' || typeof c[1] !== 'number' || !isFinite(t)) return null;
		return {
			lon: c[0], lat: c[1], t,
			alt: typeof p.altitude === 'number' ? p.altitude : (typeof c[2] === 'number' ? c[2] : null),
			speed: typeof p.speed === 'number' ? p.speed : null,
			course: typeof p.course === 'number' ? p.course : null,
			acc: typeof p.accuracy === 'number' ? p.accuracy : null,
			batt: typeof p.battery === 'number' ? p.battery : null,
		};
	}

	/* ---------------------------------------------------------------- */
	/* sign-in                                                           */

	function showLogin(message) {
		state.signedIn = false;
		show($('app'), false);
		show($('login'), true);
		const err = $('login-error');
		err.textContent = message || '';
		show(err, !!message);
		$('login-password').value = '';
		($('login-user').value ? $('login-password') : $('login-user')).focus();
	}

	/* The session is gone (logout, expiry, a 401 anywhere): stop all
	 * background work and show the form. */
	function signedOut(message) {
		if (!state.signedIn) return;
		stopLive();
		clearInterval(state.refreshTimer);
		state.refreshTimer = null;
		state.csrf = '';
		state.user = '';
		state.devices = [];
		state.selected = null;
		clearTrack();
		if (markerLayer) markerLayer.clearLayers();
		markers.clear();
		$('device-list').replaceChildren();
		if ($('devices-dialog').open) $('devices-dialog').close();
		showLogin(message);
	}

	async function onLogin(ev) {
		ev.preventDefault();
		const err = $('login-error');
		const btn = $('login-submit');
		show(err, false);
		btn.disabled = true;
		try {
			const r = await api('POST', '/api/login', {
				user: $('login-user').value.trim(),
				password: $('login-password').value,
			}, { expect401: true });
			$('login-password').value = '';
			startApp(r.user, r.csrf);
		} catch (e) {
			let msg;
			if (e.status === 401) msg = 'Wrong user name or password.';
			else if (e.status === 429) msg = 'Too many failed sign-ins. Try again' +
				(e.retryAfter ? ' in ' + e.retryAfter + ' s.' : ' later.');
			else msg = 'Sign-in failed: ' + (e.message || 'network error');
			err.textContent = msg;
			show(err, true);
			$('login-password').select();
		} finally {
			btn.disabled = false;
		}
	}

	async function onLogout() {
		try {
			await api('POST', '/api/logout', {});
		} catch (e) {
			/* Signed out locally whatever the server said. */
		}
		signedOut('');
	}

	/* ---------------------------------------------------------------- */
	/* the map                                                           */

	function initMap() {
		if (map) return;
		svg = L.svg({ padding: 0.5 });
		map = L.map('map', { renderer: svg, zoomControl: true, worldCopyJump: true })
			.setView([30, 0], 2);
		tiles = L.tileLayer(state.config.tile_url, {
			attribution: state.config.tile_attribution,
			maxZoom: 19,
		});
		tiles.on('tileload', () => { tilesLoaded++; show($('tile-note'), false); });
		/* Without tiles the track still draws, on the plain background. */
		tiles.on('tileerror', () => { if (!tilesLoaded) show($('tile-note'), true); });
		tiles.addTo(map);
		trackLayer = L.layerGroup().addTo(map);
		markerLayer = L.layerGroup().addTo(map);
		map.on('zoomend', onZoomEnd);
		/* The view, readable from outside (the browser tests). */
		map.on('moveend', () => {
			const b = map.getBounds();
			const c = map.getCenter();
			const f = (n) => n.toFixed(6);
			$('map').dataset.bounds = [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()].map(f).join(',');
			$('map').dataset.center = f(c.lat) + ',' + f(c.lng);
		});
	}

	function clearTrack() {
		if (trackLayer) trackLayer.clearLayers();
		singlePoint = null;
		state.fixes = [];
		state.runs = [];
		state.fetchedZoom = null;
		markDrawn();
		delete $('map').dataset.zoom;
		if (map) map.closePopup();
	}

	function newRun(bucket, start) {
		const line = L.polyline([], {
			renderer: svg,
			className: 'track',
			color: bucketColor(bucket),
			weight: 5,
			opacity: 0.9,
			/* Every fix becomes a vertex (no clipping, no smoothing): the
			 * server already thinned the track for this zoom. */
			smoothFactor: 0,
			noClip: true,
			bubblingMouseEvents: false,
		});
		const run = { line, bucket, start, end: start };
		line.on('click', (e) => openFixPopup(run, e.latlng));
		state.runs.push(run);
		trackLayer.addLayer(line);
		return run;
	}

	/* Segment i-1 -> i takes the colour of fix i; consecutive segments of
	 * one colour are one polyline, and neighbouring polylines share the fix
	 * where the colour changes. */
	function drawTrack(fixes) {
		trackLayer.clearLayers();
		singlePoint = null;
		state.runs = [];
		state.fixes = fixes;
		if (fixes.length === 1) {
			const f = fixes[0];
			const run = newRun(bucketOf(f.speed), 0);
			run.line.setLatLngs([[f.lat, f.lon]]);
			singlePoint = L.circleMarker([f.lat, f.lon], {
				renderer: svg, className: 'track-point', radius: 5,
				color: bucketColor(run.bucket), fillOpacity: 1,
			}).on('click', (e) => openFixPopup(run, e.latlng));
			trackLayer.addLayer(singlePoint);
		} else if (fixes.length > 1) {
			let run = null;
			let pts = [];
			for (let i = 1; i < fixes.length; i++) {
				const b = bucketOf(fixes[i].speed);
				if (!run || run.bucket !== b) {
					if (run) run.line.setLatLngs(pts);
					run = newRun(b, i - 1);
					pts = [[fixes[i - 1].lat, fixes[i - 1].lon]];
				}
				pts.push([fixes[i].lat, fixes[i].lon]);
				run.end = i;
			}
			run.line.setLatLngs(pts);
		}
		markDrawn();
	}

	/* Counters for people and tests: fixes drawn, time of the last one. */
	function markDrawn() {
		const fixes = state.fixes;
		const m = $('map');
		m.dataset.points = String(fixes.length);
		if (fixes.length) m.dataset.last = new Date(fixes[fixes.length - 1].t).toISOString();
		else delete m.dataset.last;
		$('fit').disabled = fixes.length === 0;
	}

	/* A live fix after the last one drawn. */
	function extendTrack(f) {
		const fixes = state.fixes;
		if (fixes.length === 0 || fixes.length === 1) {
			drawTrack(fixes.concat([f]));
			return;
		}
		fixes.push(f);
		const i = fixes.length - 1;
		const b = bucketOf(f.speed);
		let run = state.runs[state.runs.length - 1];
		if (run.bucket === b) {
			run.line.addLatLng([f.lat, f.lon]);
			run.end = i;
		} else {
			run = newRun(b, i - 1);
			run.line.setLatLngs([[fixes[i - 1].lat, fixes[i - 1].lon], [f.lat, f.lon]]);
			run.end = i;
		}
		markDrawn();
	}

	function trackBounds() {
		if (!state.fixes.length) return null;
		return L.latLngBounds(state.fixes.map((f) => [f.lat, f.lon]));
	}

	function fitTrack() {
		const b = trackBounds();
		if (!b) return;
		if (b.getNorthEast().equals(b.getSouthWest()))
			map.setView(b.getCenter(), Math.max(map.getZoom(), 16), { animate: false });
		else
			map.fitBounds(b, { padding: [24, 24], maxZoom: 18, animate: false });
	}

	function openFixPopup(run, latlng) {
		const p = map.latLngToLayerPoint(latlng);
		let best = run.start;
		let bestD = Infinity;
		for (let i = run.start; i <= run.end; i++) {
			const f = state.fixes[i];
			const d = p.distanceTo(map.latLngToLayerPoint([f.lat, f.lon]));
			if (d < bestD) { bestD = d; best = i; }
		}
		const f = state.fixes[best];
		L.popup({
			className: 'fix-popup', maxWidth: 320,
			/* Clear of the zoom buttons in the top left corner. */
			autoPanPaddingTopLeft: [60, 20], autoPanPaddingBottomRight: [20, 20],
		})
			.setLatLng([f.lat, f.lon])
			.setContent(fixContent(f))
			.openOn(map);
	}

	function fixContent(f) {
		const box = el('div');
		/* The zone stays in one piece ("GMT-2" never breaks at its dash). */
		const when = el('p', 'when');
		for (const part of timeFmt.formatToParts(new Date(f.t))) {
			if (part.type === 'timeZoneName') when.appendChild(el('span', 'zone', part.value));
			else when.appendChild(document.createTextNode(part.value));
		}
		box.appendChild(when);
		const dl = el('dl');
		const row = (k, v) => { dl.appendChild(el('dt', null, k)); dl.appendChild(el('dd', null, v)); };
		row('Speed', f.speed !== null ? fmtSpeed(f.speed) : 'unknown');
		if (f.course !== null) row('Course', Math.round(f.course) + '\u00b0');
		row('Altitude', f.alt !== null ? fmtLength(f.alt) : 'unknown');
		row('Accuracy', f.acc !== null ? '\u00b1' + fmtLength(f.acc) : 'unknown');
		row('Battery', f.batt !== null ? Math.round(f.batt) + ' %' : 'unknown');
		row('Position', f.lat.toFixed(6) + ', ' + f.lon.toFixed(6));
		box.appendChild(dl);
		return box;
	}

	/* ---------------------------------------------------------------- */
	/* devices                                                           */

	function deviceByName(name) {
		return state.devices.find((d) => d.name === name) || null;
	}

	function lastFixOf(d) {
		return d && d.last ? toFix(d.last) : null;
	}

	async function loadDevices() {
		let list;
		try {
			list = await api('GET', '/api/devices');
		} catch (e) {
			return false;
		}
		if (!Array.isArray(list)) return false;
		state.devices = list.filter((d) => d && typeof d.name === 'string');
		if (state.selected && !deviceByName(state.selected)) {
			state.selected = null;
			clearTrack();
			updateTrackText();
		}
		renderDevices();
		renderMarkers();
		return true;
	}

	function renderDevices() {
		const ul = $('device-list');
		const have = new Map();
		for (const li of Array.from(ul.children)) have.set(li.dataset.device, li);
		const wanted = new Set(state.devices.map((d) => d.name));
		for (const [name, li] of have)
			if (!wanted.has(name)) li.remove();
		let prev = null;
		for (const d of state.devices) {
			let li = have.get(d.name);
			if (!li || !li.isConnected) {
				li = el('li');
				li.dataset.device = d.name;
				li.setAttribute('role', 'option');
				li.tabIndex = 0;
				li.appendChild(el('span', 'dot'));
				li.appendChild(el('span', 'name', d.name));
				li.appendChild(el('span', 'last'));
				li.addEventListener('click', () => selectDevice(d.name));
				li.addEventListener('keydown', onDeviceKey);
			}
			const f = lastFixOf(d);
			const last = li.querySelector('.last');
			if (f) {
				last.textContent = fmtAgo(f.t) + ' \u00b7 ' + fmtCount(d.points || 0, 'fix', 'fixes');
				last.title = 'Last fix ' + fmtTime(f.t);
			} else {
				last.textContent = 'no fixes yet';
				last.title = '';
			}
			li.setAttribute('aria-selected', d.name === state.selected ? 'true' : 'false');
			const want = prev ? prev.nextSibling : ul.firstChild;
			if (want !== li) ul.insertBefore(li, want);
			prev = li;
		}
		show($('devices-empty'), state.devices.length === 0);
		$('edit-device').disabled = !state.selected;
	}

	function onDeviceKey(ev) {
		const li = ev.currentTarget;
		if (ev.key === 'Enter' || ev.key === ' ') {
			ev.preventDefault();
			selectDevice(li.dataset.device);
		} else if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
			ev.preventDefault();
			const next = ev.key === 'ArrowDown' ? li.nextElementSibling : li.previousElementSibling;
			if (next) next.focus();
		}
	}

	function renderMarkers() {
		if (!markerLayer) return;
		const names = new Set();
		for (const d of state.devices) {
			const f = lastFixOf(d);
			if (!f) continue;
			names.add(d.name);
			placeMarker(d.name, f);
		}
		for (const [name, m] of markers) {
			if (!names.has(name)) {
				markerLayer.removeLayer(m);
				markers.delete(name);
			}
		}
	}

	function placeMarker(name, f) {
		const sel = name === state.selected;
		let m = markers.get(name);
		if (!m) {
			m = L.circleMarker([f.lat, f.lon], {
				renderer: svg,
				className: 'live-marker',
				radius: 8,
				weight: 3,
				fillOpacity: 1,
				bubblingMouseEvents: false,
			});
			const tip = el('span', null, name);
			m.bindTooltip(tip, { direction: 'top', offset: [0, -8] });
			m.on('click', () => selectDevice(name));
			markers.set(name, m);
			markerLayer.addLayer(m);
		} else {
			m.setLatLng([f.lat, f.lon]);
		}
		m.setStyle({ fillColor: sel ? '#0b63ce' : '#7f8794', color: '#ffffff' });
		const path = m.getElement && m.getElement();
		if (path) {
			path.classList.toggle('selected', sel);
			path.setAttribute('data-device', name);
		}
		if (sel) m.bringToFront();
	}

	function selectDevice(name) {
		if (!deviceByName(name)) return;
		const changed = state.selected !== name;
		state.selected = name;
		renderDevices();
		renderMarkers();
		if (changed) {
			chooseDefaultRange();
			loadTrack({ fit: true });
			loadDay();
			if (!$('stats-body').hidden) loadStats();
		}
	}

	/* ---------------------------------------------------------------- */
	/* date ranges                                                       */

	function presetRange(preset, now) {
		const today = dayStart(now);
		switch (preset) {
		case 'yesterday':
			return { from: addDays(today, -1), to: new Date(today.getTime() - 1) };
		case '7d':
			return { from: addDays(today, -6), to: dayEnd(today) };
		case 'custom': {
			let a = parseDateValue($('range-from').value) || today;
			let b = parseDateValue($('range-to').value) || a;
			if (b < a) [a, b] = [b, a];
			return { from: dayStart(a), to: dayEnd(b) };
		}
		default:
			return { from: today, to: dayEnd(today) };
		}
	}

	function setRange(preset, auto) {
		const r = presetRange(preset, new Date());
		state.range = { preset, from: r.from, to: r.to, auto: !!auto };
		$('range-preset').value = preset;
		show($('custom-range'), preset === 'custom');
		if (preset !== 'custom') {
			$('range-from').value = dateValue(r.from);
			$('range-to').value = dateValue(r.to);
		}
		const note = $('range-note');
		show(note, false);
		note.textContent = '';
		updateDownload();
	}

	function showDay(d, auto) {
		$('range-from').value = dateValue(d);
		$('range-to').value = dateValue(d);
		setRange('custom', auto);
	}

	/* Today by default; a device with no fix today shows the day of its
	 * last fix instead, and says so. */
	function chooseDefaultRange() {
		const keep = state.range && !state.range.auto && state.range.preset !== 'today';
		if (keep) {
			setRange(state.range.preset, false);
			return;
		}
		setRange('today', false);
		const f = lastFixOf(deviceByName(state.selected));
		if (f && f.t < state.range.from.getTime()) {
			const day = dayStart(new Date(f.t));
			showDay(day, true);
			const note = $('range-note');
			note.textContent = 'No fixes today. Showing ' + fmtDay(day) + ', the day of the last fix.';
			show(note, true);
		}
	}

	function rangeShowsNow() {
		const now = Date.now();
		return state.range && state.range.from.getTime() <= now && now <= state.range.to.getTime() + 60000;
	}

	function updateDownload() {
		const a = $('download');
		if (!state.selected || !state.range) {
			a.removeAttribute('href');
			a.classList.add('disabled');
			a.setAttribute('aria-disabled', 'true');
			return;
		}
		const fmt = $('download-format').value;
		a.href = pointsUrl({
			device: state.selected,
			from: state.range.from.toISOString(),
			to: state.range.to.toISOString(),
			format: fmt,
			clean: state.clean ? 1 : undefined,
		});
		const ext = fmt === 'geojson' ? 'geojson' : fmt;
		const safe = state.selected.replace(/[^A-Za-z0-9._-]+/g, '_');
		a.download = safe + '_' + dateValue(state.range.from) + '_' + dateValue(state.range.to) + '.' + ext;
		a.classList.remove('disabled');
		a.removeAttribute('aria-disabled');
	}

	/* ---------------------------------------------------------------- */
	/* loading a track                                                   */

	function fetchPoints(zoom, signal) {
		const url = pointsUrl({
			device: state.selected,
			from: state.range.from.toISOString(),
			to: state.range.to.toISOString(),
			zoom: Math.max(0, Math.min(24, Math.round(zoom))),
			clean: state.clean ? 1 : undefined,
		});
		return api('GET', url, undefined, { signal }).then((doc) => {
			const feats = doc && Array.isArray(doc.features) ? doc.features : [];
			const out = [];
			for (const ft of feats) {
				const f = toFix(ft);
				if (f) out.push(f);
			}
			out.sort((a, b) => a.t - b.t);
			return out;
		});
	}

	/* Fetches the track thinned for the map's zoom. With fit, the map is
	 * fitted to what came back and, when that changed the zoom, the track
	 * is fetched again for the new zoom (and fitted again: a track thinned
	 * for a far-out zoom can be much smaller than the real one, e.g. a
	 * round trip thins to its two ends). It settles within a few rounds,
	 * and what is drawn is always thinned for the zoom it is seen at. */
	async function loadTrack(opts) {
		if (!state.selected || !state.range) return;
		const seq = ++state.loadSeq;
		if (state.loadAbort) state.loadAbort.abort();
		const ctl = new AbortController();
		state.loadAbort = ctl;
		$('track-summary').textContent = 'Loading\u2026';
		show($('track-empty'), false);
		/* City scale: detailed enough to find a track's real extent. */
		let zoom = opts.fit ? FIRST_ZOOM : map.getZoom();
		let fixes;
		try {
			for (let round = 0; ; round++) {
				fixes = await fetchPoints(zoom, ctl.signal);
				if (seq !== state.loadSeq) return;
				if (!opts.fit || !fixes.length || round === 3) break;
				drawTrack(fixes);
				fitTrack();
				if (map.getZoom() === zoom) break;
				zoom = map.getZoom();
			}
		} catch (e) {
			if (seq !== state.loadSeq || e.name === 'AbortError') return;
			clearTrack();
			$('track-summary').textContent = 'Could not load the track: ' + e.message;
			return;
		}
		if (map) map.closePopup();
		drawTrack(fixes);
		state.fetchedZoom = zoom;
		$('map').dataset.zoom = String(zoom);
		updateTrackText();
	}

	function updateTrackText() {
		const sum = $('track-summary');
		const empty = $('track-empty');
		const suggest = $('track-suggest');
		show(suggest, false);
		if (!state.selected) {
			sum.textContent = state.devices.length ? 'Pick a device to see its track.' : 'No device selected.';
			show(empty, false);
			return;
		}
		const n = state.fixes.length;
		if (n) {
			const a = state.fixes[0].t;
			const b = state.fixes[n - 1].t;
			sum.textContent = fmtCount(n, 'fix', 'fixes') + ' \u00b7 ' +
				(n > 1 ? spanFmt.formatRange(new Date(a), new Date(b)) : fmtTime(a));
			show(empty, false);
			return;
		}
		sum.textContent = '0 fixes';
		const d = deviceByName(state.selected);
		const last = lastFixOf(d);
		const text = $('track-empty-text');
		const r = state.range;
		const span = fmtDay(r.from) + (dateValue(r.from) === dateValue(r.to) ? '' : ' \u2013 ' + fmtDay(r.to));
		if (!last) {
			text.textContent = 'This device has sent no fixes yet. Open Edit \u2192 New token ' +
				'for its app settings, or wait for the phone to send its first position.';
		} else {
			text.textContent = 'No fixes on ' + span + '.';
			const day = dayStart(new Date(last.t));
			if (last.t < r.from.getTime() || last.t > r.to.getTime()) {
				suggest.textContent = 'Show ' + fmtDay(day) + ' (last fix)';
				suggest.onclick = () => { showDay(day, false); loadTrack({ fit: true }); };
				show(suggest, true);
			}
		}
		show(empty, true);
	}

	/* Longer ranges are thinned harder; zooming in by two levels or more
	 * asks for the detail of the new zoom. */
	function onZoomEnd() {
		if (!state.range || state.fetchedZoom === null || !state.fixes.length) return;
		if (state.range.to - state.range.from <= DAY_MS) return;
		if (Math.abs(map.getZoom() - state.fetchedZoom) < 2) return;
		clearTimeout(state.zoomTimer);
		state.zoomTimer = setTimeout(() => loadTrack({ fit: false }), 250);
	}

	/* ---------------------------------------------------------------- */
	/* live fixes                                                        */

	function setLive(text, cls) {
		const s = $('live-status');
		s.textContent = text;
		s.className = 'live' + (cls ? ' ' + cls : '');
	}

	function startLive() {
		stopLive();
		let es;
		try {
			es = new EventSource('/api/stream');
		} catch (e) {
			scheduleLive();
			return;
		}
		state.es = es;
		setLive('connecting', 'retry');
		es.onopen = () => {
			setLive('live', 'on');
			state.esBackoff = 1000;
			if (state.esHadError) {
				state.esHadError = false;
				catchUp();
			}
		};
		es.onerror = () => {
			state.esHadError = true;
			if (es.readyState === EventSource.CLOSED) {
				/* 401, a server restart mid-handshake, a wrong type: the
				 * browser gives up; we don't. */
				state.es = null;
				setLive('reconnecting', 'retry');
				scheduleLive();
			} else {
				setLive('reconnecting', 'retry');
			}
		};
		es.addEventListener('fix', onFixEvent);
	}

	function stopLive() {
		clearTimeout(state.esTimer);
		state.esTimer = null;
		if (state.es) {
			state.es.close();
			state.es = null;
		}
		setLive('offline', '');
	}

	function scheduleLive() {
		clearTimeout(state.esTimer);
		const wait = state.esBackoff;
		state.esBackoff = Math.min(state.esBackoff * 2, STREAM_BACKOFF_MAX);
		state.esTimer = setTimeout(async () => {
			state.esTimer = null;
			if (!state.signedIn) return;
			/* A 401 here signs the page out instead of retrying forever. */
			try {
				await api('GET', '/api/session');
			} catch (e) {
				if (e.status === 401 || !state.signedIn) return;
			}
			if (state.signedIn) startLive();
		}, wait);
	}

	/* After a gap in the stream: fixes that arrived meanwhile. */
	async function catchUp() {
		await loadDevices();
		if (state.selected && rangeShowsNow())
			loadTrack({ fit: false });
	}

	function onFixEvent(ev) {
		let feat;
		try { feat = JSON.parse(ev.data); } catch (e) { return; }
		const f = toFix(feat);
		const name = feat && feat.properties && feat.properties.device;
		if (!f || typeof name !== 'string') return;
		const d = deviceByName(name);
		if (!d) {
			loadDevices();
			return;
		}
		const prev = lastFixOf(d);
		if (!prev || f.t >= prev.t) {
			d.last = feat;
		}
		d.points = (d.points || 0) + 1;
		renderDevices();
		renderMarkers();
		if (name !== state.selected || !state.range) return;
		if (state.range.auto && f.t >= dayStart(new Date()).getTime()) {
			/* The fallback day was shown only because today had nothing. */
			setRange('today', false);
			loadTrack({ fit: true });
			return;
		}
		if (f.t < state.range.from.getTime() || f.t > state.range.to.getTime()) return;
		const fixes = state.fixes;
		if (fixes.length && f.t <= fixes[fixes.length - 1].t) {
			if (fixes.some((x) => x.t === f.t)) return;
			loadTrack({ fit: false });   /* out of order: redraw */
			return;
		}
		extendTrack(f);
		updateTrackText();
	}

	/* ---------------------------------------------------------------- */
	/* devices dialog                                                    */

	function openDialog(focusAdd) {
		const dlg = $('devices-dialog');
		show($('device-error'), false);
		show($('dlg-result'), false);
		const d = state.selected;
		show($('dlg-edit'), !!d && !focusAdd);
		show($('dlg-delete-range'), !!d && !focusAdd);
		show($('dlg-import'), !!d && !focusAdd);
		if (d) {
			$('dlg-device-name').textContent = d;
			$('rename-name').value = d;
		}
		/* The range shown on the map is the one offered for deleting. */
		if (state.range) {
			$('delete-from').value = dateValue(state.range.from);
			$('delete-to').value = dateValue(state.range.to);
		}
		resetDeleteRange();
		show($('delete-done'), false);
		if (!$('import-submit').disabled) {
			show($('import-progress-row'), false);
			show($('import-summary'), false);
			$('import-file').value = '';
		}
		$('new-device-name').value = '';
		if (!dlg.open) dlg.showModal();
		(focusAdd || !d ? $('new-device-name') : $('rename-name')).focus();
	}

	function dialogError(e) {
		const p = $('device-error');
		p.textContent = e.message || String(e);
		show(p, true);
	}

	function showSettings(r) {
		$('result-name').textContent = r.name || '';
		$('device-token').textContent = r.token || '';
		$('device-settings').textContent = r.text || '';
		const sel = $('qr-app');
		sel.replaceChildren();
		const opts = [];
		if (typeof r.url === 'string' && r.url) opts.push(['Receiver URL', r.url]);
		const urls = r.settings && r.settings.urls && typeof r.settings.urls === 'object' ? r.settings.urls : {};
		for (const k of Object.keys(urls))
			if (typeof urls[k] === 'string') opts.push([k, urls[k]]);
		for (const [label, url] of opts) {
			const o = el('option', null, label);
			o.value = url;
			sel.appendChild(o);
		}
		drawQr(opts.length ? opts[0][1] : '');
		show($('dlg-result'), true);
		$('device-token').scrollIntoView({ block: 'nearest' });
	}

	function drawQr(text) {
		const img = $('device-qr');
		$('qr-text').textContent = text;
		if (!text || typeof qrcode !== 'function') {
			img.removeAttribute('src');
			img.alt = '';
			return;
		}
		try {
			const qr = qrcode(0, 'M');
			qr.addData(text);
			qr.make();
			img.src = qr.createDataURL(4, 4);
			img.alt = 'QR code of ' + text;
		} catch (e) {
			img.removeAttribute('src');
			img.alt = 'QR code unavailable: ' + e.message;
		}
	}

	async function onAddDevice(ev) {
		ev.preventDefault();
		show($('device-error'), false);
		const name = $('new-device-name').value.trim();
		if (!name) return;
		const btn = $('new-device-submit');
		btn.disabled = true;
		try {
			const r = await api('POST', '/api/devices', { name });
			$('new-device-name').value = '';
			showSettings(r);
			await loadDevices();
			selectDevice(r.name || name);
		} catch (e) {
			dialogError(e.status === 409 ? new Error('A device named \u201c' + name + '\u201d already exists.') : e);
		} finally {
			btn.disabled = false;
		}
	}

	function devicePath(name, rest) {
		return '/api/devices/' + encodeURIComponent(name) + (rest || '');
	}

	async function onRename(ev) {
		ev.preventDefault();
		const old = state.selected;
		const name = $('rename-name').value.trim();
		if (!old || !name || name === old) return;
		show($('device-error'), false);
		try {
			const r = await api('PATCH', devicePath(old), { name });
			const nn = (r && r.name) || name;
			state.selected = nn;
			const m = markers.get(old);
			if (m) { markerLayer.removeLayer(m); markers.delete(old); }
			$('dlg-device-name').textContent = nn;
			await loadDevices();
			updateDownload();
		} catch (e) {
			dialogError(e.status === 409 ? new Error('A device named \u201c' + name + '\u201d already exists.') : e);
		}
	}

	async function onRegen() {
		const name = state.selected;
		if (!name) return;
		if (!window.confirm('Make a new token for \u201c' + name + '\u201d? The old one stops working at once; the phone needs the new settings.'))
			return;
		show($('device-error'), false);
		try {
			showSettings(await api('POST', devicePath(name, '/token'), {}));
		} catch (e) {
			dialogError(e);
		}
	}

	async function onDelete() {
		const name = state.selected;
		if (!name) return;
		const d = deviceByName(name);
		const n = d ? d.points || 0 : 0;
		if (!window.confirm('Delete \u201c' + name + '\u201d and its ' + fmtCount(n, 'fix', 'fixes') + '? This cannot be undone.'))
			return;
		show($('device-error'), false);
		try {
			await api('DELETE', devicePath(name));
			state.selected = null;
			clearTrack();
			$('devices-dialog').close();
			await loadDevices();
			updateTrackText();
			updateDownload();
		} catch (e) {
			dialogError(e);
		}
	}

	/* Deleting a range of fixes: the count first (dry_run=1), then a
	 * second press deletes exactly that range. Days are the browser's, as
	 * in the time range above. */
	function deleteRangeParams() {
		let a = parseDateValue($('delete-from').value);
		let b = parseDateValue($('delete-to').value);
		if (!a || !b || !state.selected) return null;
		if (b < a) [a, b] = [b, a];
		return { device: state.selected, from: dayStart(a), to: dayEnd(b) };
	}

	/* A changed range or device needs a new count before anything goes. */
	function resetDeleteRange() {
		state.pendingDelete = null;
		show($('delete-confirm'), false);
	}

	async function onDeleteCount(ev) {
		ev.preventDefault();
		resetDeleteRange();
		show($('delete-done'), false);
		show($('device-error'), false);
		const p = deleteRangeParams();
		if (!p) return;
		const btn = $('delete-count');
		btn.disabled = true;
		try {
			const r = await api('DELETE', pointsUrl({
				device: p.device, from: p.from.toISOString(), to: p.to.toISOString(), dry_run: 1,
			}));
			const n = r && typeof r.count === 'number' ? r.count : 0;
			const span = fmtDay(p.from) + (dateValue(p.from) === dateValue(p.to) ? '' : ' to ' + fmtDay(p.to));
			$('delete-count-text').textContent = n
				? fmtCount(n, 'fix', 'fixes') + ' of \u201c' + p.device + '\u201d on ' + span + ' will be deleted for good.'
				: 'No fixes of \u201c' + p.device + '\u201d on ' + span + '.';
			$('delete-range').textContent = 'Delete ' + fmtCount(n, 'fix', 'fixes');
			show($('delete-range'), n > 0);
			show($('delete-confirm'), true);
			if (n > 0) state.pendingDelete = p;
		} catch (e) {
			dialogError(e);
		} finally {
			btn.disabled = false;
		}
	}

	async function onDeleteRange() {
		const p = state.pendingDelete;
		if (!p || p.device !== state.selected) return;
		const btn = $('delete-range');
		btn.disabled = true;
		try {
			const r = await api('DELETE', pointsUrl({
				device: p.device, from: p.from.toISOString(), to: p.to.toISOString(),
			}));
			resetDeleteRange();
			const n = r && typeof r.deleted === 'number' ? r.deleted : 0;
			$('delete-done').textContent = 'Deleted ' + fmtCount(n, 'fix', 'fixes') + '.';
			show($('delete-done'), true);
			await loadDevices();
			loadTrack({ fit: false });
			loadDay();
			if (!$('stats-body').hidden) loadStats();
			/* The history is derived again within about a second of the
			 * deletion; the day and statistics are asked again then. */
			setTimeout(() => {
				loadDay();
				if (!$('stats-body').hidden) loadStats();
			}, 1500);
		} catch (e) {
			dialogError(e);
		} finally {
			btn.disabled = false;
		}
	}

	/* Importing a file: the file itself is the body (the server reads it
	 * as it arrives and parses it meanwhile), so the bar follows the
	 * upload first, then the server's parsing from GET /api/imports/ID. */
	function importUpload(device, file, onProgress) {
		return new Promise((resolve, reject) => {
			const q = new URLSearchParams({ device, name: file.name });
			const xhr = new XMLHttpRequest();
			xhr.open('POST', '/api/imports?' + q.toString());
			xhr.setRequestHeader('Content-Type', 'application/octet-stream');
			if (state.csrf) xhr.setRequestHeader('X-CSRF-Token', state.csrf);
			xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded, e.total); };
			xhr.onload = () => {
				let data = null;
				try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
				if (xhr.status === 202 && data && typeof data.id === 'number') resolve(data);
				else reject(new ApiError(xhr.status, data && data.error ? data.error : 'upload failed (' + xhr.status + ')',
					xhr.getResponseHeader('Retry-After')));
			};
			xhr.onerror = () => reject(new ApiError(0, 'the upload was interrupted'));
			xhr.send(file);
		});
	}

	function fmtBytes(n) {
		const u = ['B', 'KB', 'MB', 'GB'];
		let i = 0;
		while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
		return (i ? n.toFixed(1) : String(n)) + ' ' + u[i];
	}

	/* The bar and the line under it while a job runs; prefix names the
	 * file when several are sent. */
	function showImportProgress(job, prefix) {
		const frac = job.total ? Math.min(1, job.bytes / job.total) : 0;
		$('import-progress').value = job.state === 'running' ? frac : 1;
		$('import-status').textContent = statusLine(prefix, job.state === 'running'
			? 'reading: ' + fmtBytes(job.bytes) + (job.total ? ' of ' + fmtBytes(job.total) : '') + ', ' + fmtCount(job.fixes, 'fix', 'fixes')
			: job.state === 'done' ? 'done.' : 'failed.');
	}

	/* "a.gpx (1 of 2): done." with a file's name, else "Done." */
	function statusLine(prefix, text) {
		return prefix ? prefix + text : text.charAt(0).toUpperCase() + text.slice(1);
	}

	function jobText(j) {
		let text = fmtCount(j.fixes, 'fix', 'fixes') + ' read, ' + j.stored + ' stored, ' +
			j.duplicates + ' already stored';
		if (j.rejected) text += ', ' + j.rejected + ' rejected';
		if (j.visits) text += ', ' + fmtCount(j.visits, 'visit', 'visits');
		return text;
	}

	/* The summary of the files sent, in order; the last may have failed. */
	function showImportSummary(jobs) {
		const last = jobs[jobs.length - 1];
		const done = jobs.filter((j) => j.state === 'done');
		const sum = (k) => done.reduce((n, j) => n + j[k], 0);
		const total = { fixes: sum('fixes'), stored: sum('stored'), duplicates: sum('duplicates'),
			rejected: sum('rejected'), visits: sum('visits') };
		let text;
		if (last.state === 'failed') {
			text = 'Import failed: ' + last.error + '. Nothing of that file was stored' +
				(done.length ? '; the ' + fmtCount(done.length, 'file', 'files') + ' before it were.' : '.');
		} else {
			text = (jobs.length > 1 ? fmtCount(jobs.length, 'file', 'files') + ': ' : '') + jobText(total) + '.';
		}
		$('import-summary-text').textContent = text;
		$('import-summary-text').className = last.state === 'failed' ? 'error' : '';
		const files = $('import-files');
		files.replaceChildren();
		const parts = [];
		for (const j of done) {
			/* An archive's members, or the file itself. */
			if ((j.files || []).length > 1) parts.push(...j.files);
			else if (jobs.length > 1) parts.push({ name: j.name, stored: j.stored, duplicates: j.duplicates, rejected: j.rejected });
		}
		for (const f of parts) {
			const li = document.createElement('li');
			li.textContent = f.name + ': ' + f.stored + ' stored, ' + f.duplicates + ' already stored' +
				(f.rejected ? ', ' + f.rejected + ' rejected' : '');
			files.appendChild(li);
		}
		const reasons = $('import-reasons');
		reasons.replaceChildren();
		for (const j of jobs) {
			for (const r of j.reasons || []) {
				const li = document.createElement('li');
				li.textContent = 'Rejected: ' + r;
				reasons.appendChild(li);
			}
		}
		show($('import-summary'), true);
	}

	/* Files are sent one after the other (the server runs one import of a
	 * user at a time); the first that fails stops the rest, as on the
	 * command line. */
	async function onImport(ev) {
		ev.preventDefault();
		const files = Array.from($('import-file').files);
		const device = state.selected;
		if (!files.length || !device) return;
		const btn = $('import-submit');
		btn.disabled = true;
		show($('device-error'), false);
		show($('import-summary'), false);
		show($('import-progress-row'), true);
		const jobs = [];
		try {
			for (let i = 0; i < files.length; i++) {
				const prefix = files.length > 1 ? files[i].name + ' (' + (i + 1) + ' of ' + files.length + '): ' : '';
				$('import-progress').value = 0;
				$('import-status').textContent = statusLine(prefix, 'sending\u2026');
				const { id } = await importUpload(device, files[i], (loaded, total) => {
					$('import-progress').value = total ? loaded / total : 0;
					$('import-status').textContent = statusLine(prefix, 'sending: ' + fmtBytes(loaded) + ' of ' + fmtBytes(total));
				});
				let job;
				for (;;) {
					job = await api('GET', '/api/imports/' + id);
					showImportProgress(job, prefix);
					if (job.state !== 'running') break;
					await new Promise((r) => setTimeout(r, 400));
				}
				jobs.push(job);
				if (job.state !== 'done') break;
			}
			showImportSummary(jobs);
			if (jobs.some((j) => j.state === 'done' && j.stored > 0)) {
				await loadDevices();
				loadTrack({ fit: true });
				loadDay();
				if (!$('stats-body').hidden) loadStats();
			}
		} catch (e) {
			if (jobs.length) showImportSummary(jobs);
			show($('import-progress-row'), false);
			dialogError(e);
		} finally {
			btn.disabled = false;
		}
	}

	/* ---------------------------------------------------------------- */
	/* start                                                             */

	function renderLegend() {
		const ul = $('legend');
		ul.replaceChildren();
		const f = state.units === 'mph' ? 2.2369363 : 3.6;
		const u = state.units === 'mph' ? 'mph' : 'km/h';
		let lo = 0;
		BUCKETS.forEach((b, i) => {
			const li = el('li');
			li.appendChild(el('span', 'swatch speed-' + (i + 1)));
			const label = b.max === Infinity ? '\u2265 ' + Math.round(lo * f) + ' ' + u
				: (i === 0 ? '< ' : Math.round(lo * f) + '\u2013') + Math.round(b.max * f) + ' ' + u;
			li.appendChild(el('span', null, label));
			ul.appendChild(li);
			lo = b.max;
		});
		const li = el('li');
		li.appendChild(el('span', 'swatch speed-0'));
		li.appendChild(el('span', null, 'speed unknown'));
		ul.appendChild(li);
	}

	/* ---------------------------------------------------------------- */
	/* history: the day view, the statistics, the zone offer            */

	/* The browser's zone, and the user's (GET /api/me), which the server
	 * counts days in; the day view shows times in the user's. */
	function browserZone() {
		try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ''; } catch (e) { return ''; }
	}

	function zoneFmt(zone, opts) {
		try { return new Intl.DateTimeFormat(undefined, Object.assign({ timeZone: zone }, opts)); } catch (e) {
			return new Intl.DateTimeFormat(undefined, opts);
		}
	}

	/* yyyy-mm-dd of now in a zone. */
	function todayIn(zone) {
		const parts = zoneFmt(zone, { year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(new Date());
		const get = (t) => (parts.find((p) => p.type === t) || {}).value;
		return get('year') + '-' + get('month') + '-' + get('day');
	}

	/* Calendar arithmetic on yyyy-mm-dd, zone-free. */
	function shiftDate(v, n) {
		const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
		const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3] + n));
		return d.toISOString().slice(0, 10);
	}

	function fmtDistance(m) {
		if (state.units === 'mph') return (m / 1609.344).toFixed(1) + ' mi';
		return (m / 1000).toFixed(1) + ' km';
	}

	function fmtDuration(s) {
		const min = Math.round(s / 60);
		if (min < 60) return min + ' min';
		return Math.floor(min / 60) + ' h ' + String(min % 60).padStart(2, '0') + ' min';
	}

	async function loadMe() {
		try {
			const me = await api('GET', '/api/me');
			state.zone = me && typeof me.timezone === 'string' ? me.timezone : '';
		} catch (e) {
			state.zone = '';
		}
		offerZone();
	}

	function offerZone() {
		const bz = browserZone();
		const on = !!bz && !!state.zone && bz !== state.zone && !state.zoneDismissed;
		if (on)
			$('zone-offer-text').textContent = 'Your days are counted in ' + state.zone +
				'; this browser is in ' + bz + '. Use ' + bz + '?';
		show($('zone-offer'), on);
	}

	async function useBrowserZone() {
		const bz = browserZone();
		try {
			const me = await api('PATCH', '/api/me', { timezone: bz });
			state.zone = me && typeof me.timezone === 'string' ? me.timezone : bz;
		} catch (e) {
			$('zone-offer-text').textContent = 'Could not change the zone: ' + e.message;
			return;
		}
		offerZone();
		state.day = todayIn(state.zone);
		loadDay();
		if (!$('stats-body').hidden || !$('stats-empty').hidden) loadStats();
	}

	function setDay(v) {
		state.day = v;
		loadDay();
	}

	async function loadDay() {
		const list = $('day-list');
		if (!state.selected) {
			list.replaceChildren();
			$('day-date').textContent = '';
			$('day-summary').textContent = 'Pick a device to see its days.';
			show($('day-empty'), false);
			return;
		}
		if (!state.day) state.day = todayIn(state.zone || browserZone());
		const seq = ++state.daySeq;
		const [y, mo, d] = state.day.split('-').map(Number);
		$('day-date').textContent = zoneFmt('UTC', { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric' })
			.format(new Date(Date.UTC(y, mo - 1, d, 12)));
		$('day-date').dataset.date = state.day;
		let doc;
		try {
			doc = await api('GET', '/api/timeline?' + new URLSearchParams({ device: state.selected, date: state.day }));
		} catch (e) {
			if (seq !== state.daySeq) return;
			list.replaceChildren();
			$('day-summary').textContent = 'Could not load the day: ' + e.message;
			return;
		}
		if (seq !== state.daySeq) return;
		renderDay(doc);
	}

	function renderDay(doc) {
		const list = $('day-list');
		const segs = doc && Array.isArray(doc.segments) ? doc.segments : [];
		const zone = (doc && doc.timezone) || state.zone;
		const clock = zoneFmt(zone, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
		const dayOf = zoneFmt(zone, { year: 'numeric', month: '2-digit', day: '2-digit' });
		const short = zoneFmt(zone, { month: 'short', day: 'numeric' });
		const ymd = (d) => {
			const p = dayOf.formatToParts(d);
			const g = (t) => (p.find((x) => x.type === t) || {}).value;
			return g('year') + '-' + g('month') + '-' + g('day');
		};
		/* A segment reaching into another day says which. */
		const at = (iso) => {
			const d = new Date(iso);
			return (ymd(d) === state.day ? '' : short.format(d) + ' ') + clock.format(d);
		};
		list.replaceChildren();
		let trips = 0;
		for (const s of segs) {
			const li = el('li');
			li.dataset.kind = s.kind === 'trip' ? 'trip' : 'stay';
			li.tabIndex = 0;
			const when = at(s.start) + '\u2013' + (s.open ? 'now' : at(s.end));
			if (s.kind === 'trip') {
				trips++;
				const mode = typeof s.mode === 'string' && s.mode ? s.mode : 'unknown';
				li.dataset.mode = mode;
				li.appendChild(el('span', 'what', (s.gap ? 'Gap: ' : '') + fmtDistance(s.distance || 0) + ', ' +
					fmtDuration(s.duration || 0) + ', ' + mode));
				li.appendChild(el('span', 'when', when));
			} else {
				const p = s.place;
				const name = p ? (p.name || [p.city, p.country].filter(Boolean).join(', ') || 'Unnamed place') : 'Somewhere';
				if (p && p.id !== undefined) li.dataset.place = String(p.id);
				li.appendChild(el('span', 'what', name));
				li.appendChild(el('span', 'when', when));
				if (p && p.id !== undefined) {
					const b = el('button', 'link-button rename-place', 'Rename');
					b.type = 'button';
					b.setAttribute('aria-label', 'Rename ' + name);
					b.addEventListener('click', (ev) => { ev.stopPropagation(); renamePlace(li, p); });
					li.appendChild(b);
				}
			}
			li.addEventListener('click', () => fitEntry(li, s));
			li.addEventListener('keydown', (ev) => {
				if (ev.target === li && (ev.key === 'Enter' || ev.key === ' ')) { ev.preventDefault(); fitEntry(li, s); }
			});
			list.appendChild(li);
		}
		const dist = doc && typeof doc.distance === 'number' ? doc.distance : 0;
		$('day-summary').textContent = segs.length ? fmtDistance(dist) + ' in ' + fmtCount(trips, 'trip', 'trips') +
			', times in ' + zone : '';
		show($('day-empty'), !segs.length);
	}

	function fitEntry(li, s) {
		if (!map) return;
		for (const x of $('day-list').children) x.classList.toggle('active', x === li);
		if (s.kind === 'trip' && s.from && s.to) {
			const b = L.latLngBounds([[s.from.lat, s.from.lon], [s.to.lat, s.to.lon]]);
			map.fitBounds(b.pad(0.2), { animate: false, maxZoom: 16 });
		} else if (typeof s.lat === 'number' && typeof s.lon === 'number') {
			map.setView([s.lat, s.lon], Math.max(map.getZoom(), 15), { animate: false });
		}
	}

	function renamePlace(li, p) {
		if (li.querySelector('form')) return;
		const f = el('form');
		const input = el('input');
		input.maxLength = 64;
		input.required = true;
		input.value = p.name || '';
		input.setAttribute('aria-label', 'Place name');
		const ok = el('button', null, 'Save');
		ok.type = 'submit';
		const cancel = el('button', 'link-button', 'Cancel');
		cancel.type = 'button';
		const err = el('span', 'error');
		f.append(input, ok, cancel, err);
		f.addEventListener('click', (ev) => ev.stopPropagation());
		f.addEventListener('keydown', (ev) => {
			ev.stopPropagation();
			if (ev.key === 'Escape') f.remove();
		});
		cancel.addEventListener('click', () => f.remove());
		f.addEventListener('submit', async (ev) => {
			ev.preventDefault();
			const name = input.value.trim();
			if (!name) return;
			try {
				await api('PATCH', '/api/places/' + encodeURIComponent(p.id), { name });
			} catch (e) {
				err.textContent = e.message;
				return;
			}
			loadDay();
		});
		li.appendChild(f);
		input.focus();
	}

	async function loadStats() {
		if (!state.selected) return;
		let doc;
		try {
			doc = await api('GET', '/api/stats?' + new URLSearchParams({ device: state.selected }));
		} catch (e) {
			$('stats-empty').textContent = 'Could not load the statistics: ' + e.message;
			show($('stats-empty'), true);
			show($('stats-body'), false);
			return;
		}
		renderStats(doc || {});
	}

	function renderStats(doc) {
		const months = Array.isArray(doc.months) ? doc.months : [];
		const has = months.length || (doc.days || 0) > 0;
		$('stats-empty').textContent = 'No history yet.';
		show($('stats-empty'), !has);
		show($('stats-body'), !!has);
		$('stats-load').textContent = 'Refresh';
		$('stats-totals').textContent = 'Total ' + fmtDistance(doc.distance || 0) + ' on ' +
			fmtCount(doc.days || 0, 'day', 'days');
		const monthFmt = zoneFmt('UTC', { month: 'short', year: '2-digit' });
		const chart = $('stats-chart');
		chart.replaceChildren();
		const top = Math.max(1, ...months.map((m) => m.distance || 0));
		for (const m of months) {
			const bar = el('div', 'bar');
			bar.dataset.month = m.month;
			bar.dataset.distance = String(m.distance || 0);
			bar.title = m.month + ': ' + fmtDistance(m.distance || 0) + ', ' + fmtCount(m.days || 0, 'day', 'days');
			const fill = el('div', 'fill');
			fill.style.height = (100 * (m.distance || 0) / top).toFixed(1) + '%';
			const [my, mm] = m.month.split('-').map(Number);
			bar.append(fill, el('span', 'label', monthFmt.format(new Date(Date.UTC(my, mm - 1, 15)))));
			chart.appendChild(bar);
		}
		const list = (id, rows, text) => {
			const ul = $(id);
			ul.replaceChildren();
			for (const r of rows) ul.appendChild(el('li', null, text(r)));
			if (!rows.length) ul.appendChild(el('li', 'note', 'None yet.'));
		};
		list('stats-countries', Array.isArray(doc.countries) ? doc.countries : [],
			(c) => (c.name || c.code) + ': ' + fmtCount(c.days || 0, 'day', 'days'));
		list('stats-cities', Array.isArray(doc.cities) ? doc.cities : [],
			(c) => c.name + (c.country ? ' (' + c.country + ')' : '') + ': ' + fmtCount(c.days || 0, 'day', 'days'));
	}

	async function startApp(user, csrf) {
		state.user = user || '';
		state.csrf = csrf || '';
		state.signedIn = true;
		show($('login'), false);
		show($('app'), true);
		$('user-name').textContent = state.user;
		initMap();
		map.invalidateSize();
		if (!state.range) setRange('today', false);
		updateTrackText();
		await loadMe();
		if (!state.signedIn) return;
		await loadDevices();
		if (!state.signedIn) return;
		if (!state.selected && state.devices.length) {
			/* The device that moved last. */
			let best = null;
			for (const d of state.devices) {
				const f = lastFixOf(d);
				if (f && (!best || f.t > best.t)) best = { name: d.name, t: f.t };
			}
			selectDevice(best ? best.name : state.devices[0].name);
		} else if (!state.devices.length) {
			updateTrackText();
		}
		startLive();
		clearInterval(state.refreshTimer);
		/* Last fixes and their "ago" texts; the ages move on even when the
		 * list cannot be fetched. */
		state.refreshTimer = setInterval(async () => {
			if (state.signedIn && !(await loadDevices()) && state.signedIn) renderDevices();
		}, REFRESH_MS);
	}

	async function loadConfig() {
		try {
			const c = await api('GET', '/api/config', undefined, { expect401: true });
			if (c && typeof c.tile_url === 'string' && c.tile_url) state.config.tile_url = c.tile_url;
			if (c && typeof c.tile_attribution === 'string') state.config.tile_attribution = c.tile_attribution;
		} catch (e) {
			/* The defaults do. */
		}
	}

	async function init() {
		const saved = localStorage.getItem(UNITS_KEY);
		state.units = saved === 'mph' ? 'mph' : 'kmh';
		$('units').value = state.units;
		state.clean = localStorage.getItem(CLEAN_KEY) === '1';
		$('clean').checked = state.clean;
		renderLegend();

		$('login-form').addEventListener('submit', onLogin);
		$('logout').addEventListener('click', onLogout);
		$('range-preset').addEventListener('change', () => {
			const p = $('range-preset').value;
			if (p === 'custom' && state.range) {
				$('range-from').value = dateValue(state.range.from);
				$('range-to').value = dateValue(state.range.to);
			}
			setRange(p, false);
			loadTrack({ fit: true });
		});
		const onDate = () => {
			if (!$('range-from').value || !$('range-to').value) return;
			setRange('custom', false);
			loadTrack({ fit: true });
		};
		$('range-from').addEventListener('change', onDate);
		$('range-to').addEventListener('change', onDate);
		$('fit').addEventListener('click', fitTrack);
		$('units').addEventListener('change', () => {
			state.units = $('units').value === 'mph' ? 'mph' : 'kmh';
			localStorage.setItem(UNITS_KEY, state.units);
			renderLegend();
			if (map) map.closePopup();
		});
		$('clean').addEventListener('change', () => {
			state.clean = $('clean').checked;
			localStorage.setItem(CLEAN_KEY, state.clean ? '1' : '0');
			updateDownload();
			loadTrack({ fit: false });
		});
		$('zone-use').addEventListener('click', useBrowserZone);
		$('zone-dismiss').addEventListener('click', () => { state.zoneDismissed = true; offerZone(); });
		$('day-prev').addEventListener('click', () => setDay(shiftDate(state.day, -1)));
		$('day-next').addEventListener('click', () => setDay(shiftDate(state.day, 1)));
		$('stats-load').addEventListener('click', loadStats);
		$('download-format').addEventListener('change', updateDownload);
		$('add-device').addEventListener('click', () => openDialog(true));
		$('edit-device').addEventListener('click', () => openDialog(false));
		$('dialog-close').addEventListener('click', () => $('devices-dialog').close());
		$('new-device-form').addEventListener('submit', onAddDevice);
		$('rename-form').addEventListener('submit', onRename);
		$('regen-token').addEventListener('click', onRegen);
		$('delete-device').addEventListener('click', onDelete);
		$('delete-range-form').addEventListener('submit', onDeleteCount);
		$('import-form').addEventListener('submit', onImport);
		/* Files dropped on the import section go in as if chosen. */
		const drop = $('dlg-import');
		const hasFiles = (e) => e.dataTransfer && Array.from(e.dataTransfer.types || []).includes('Files');
		drop.addEventListener('dragover', (e) => {
			if (!hasFiles(e)) return;
			e.preventDefault();
			drop.classList.add('drop-target');
		});
		drop.addEventListener('dragleave', () => drop.classList.remove('drop-target'));
		drop.addEventListener('drop', (e) => {
			drop.classList.remove('drop-target');
			if (!hasFiles(e) || !e.dataTransfer.files.length || $('import-submit').disabled) return;
			e.preventDefault();
			$('import-file').files = e.dataTransfer.files;
			onImport(e);
		});
		$('delete-range').addEventListener('click', onDeleteRange);
		$('delete-cancel').addEventListener('click', resetDeleteRange);
		$('delete-from').addEventListener('change', resetDeleteRange);
		$('delete-to').addEventListener('change', resetDeleteRange);
		$('qr-app').addEventListener('change', () => drawQr($('qr-app').value));

		await loadConfig();
		let s = null;
		try {
			s = await api('GET', '/api/session', undefined, { expect401: true });
		} catch (e) {
			showLogin(e.status === 401 ? '' : 'The server could not be reached: ' + e.message);
			return;
		}
		startApp(s.user, s.csrf);
	}

	if (document.readyState === 'loading')
		document.addEventListener('DOMContentLoaded', init);
	else
		init();
})();
