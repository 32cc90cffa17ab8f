'use strict';
/* The real mintrac binary (MINTRAC_BIN) in a temporary data directory,
 * on free loopback ports, as tests/functional/harness.py runs it. */
const childProcess = require('child_process');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');

const CLI_TIMEOUT_MS = 60000;

function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.unref();
		s.on('error', reject);
		s.listen(0, '127.0.0.1', () => {
			const port = s.address().port;
			s.close(() => resolve(port));
		});
	});
}

function portOpen(port) {
	return new Promise((resolve) => {
		const s = net.connect({ host: '127.0.0.1', port });
		s.setTimeout(1000);
		s.on('connect', () => { s.destroy(); resolve(true); });
		s.on('error', () => resolve(false));
		s.on('timeout', () => { s.destroy(); resolve(false); });
	});
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* One HTTP request on a fresh connection to 127.0.0.1:
 * -> {status, headers, body (Buffer)}. path is sent as given. */
function request(port, method, rawPath, headers, body) {
	return new Promise((resolve, reject) => {
		const req = http.request({
			host: '127.0.0.1', port, method, path: rawPath, headers: headers || {},
			agent: false, timeout: 10000,
		}, (res) => {
			const chunks = [];
			res.on('data', (c) => chunks.push(c));
			res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
		});
		req.on('timeout', () => req.destroy(new Error('timeout: ' + method + ' ' + rawPath)));
		req.on('error', reject);
		req.end(body);
	});
}

class Mintrac {
	constructor(bin, conf) {
		this.bin = bin;
		this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'mintrac-bt-'));
		this.datadir = path.join(this.root, 'data');
		this.proc = null;
		this.exited = null;
		this.cli('init');
		if (conf) {
			const lines = Object.keys(conf).map((k) => k + ' = ' + conf[k]).join('\n');
			fs.appendFileSync(path.join(this.datadir, 'mintrac.conf'), '\n' + lines + '\n');
		}
	}

	cli(...args) {
		let input;
		if (args.length && typeof args[args.length - 1] === 'object') input = args.pop().stdin;
		const r = childProcess.spawnSync(this.bin, ['-d', this.datadir, ...args.map(String)], {
			input, encoding: 'utf8', timeout: CLI_TIMEOUT_MS,
		});
		if (r.status !== 0)
			throw new Error('mintrac ' + args.join(' ') + ' -> exit ' + r.status + ': ' + (r.stderr || '').trim());
		return r.stdout;
	}

	addUser(name, password) { this.cli('user', 'add', name, '--password-stdin', { stdin: password + '\n' }); }

	addDevice(user, name) { return JSON.parse(this.cli('device', 'add', user, name, '--json')); }

	async run(env) {
		this.rport = await freePort();
		do this.wport = await freePort(); while (this.wport === this.rport);
		const log = fs.openSync(path.join(this.datadir, 'run.log'), 'a');
		/* Own process group, so a last-resort SIGKILL reaches the children. */
		this.proc = childProcess.spawn(this.bin, ['-d', this.datadir, 'run',
			'--receiver-listen', '127.0.0.1:' + this.rport,
			'--webapp-listen', '127.0.0.1:' + this.wport], {
			stdio: ['ignore', log, log], detached: true,
			env: Object.assign({}, process.env, env || {}),
		});
		fs.closeSync(log);
		this.exited = null;
		this.proc.on('exit', (code, sig) => { this.exited = { code, sig }; });
		const deadline = Date.now() + 15000;
		for (const port of [this.rport, this.wport]) {
			while (!(await portOpen(port))) {
				if (this.exited)
					throw new Error('mintrac run exited (' + JSON.stringify(this.exited) + ') before listening\n' + this.log());
				if (Date.now() > deadline) {
					this.kill();
					throw new Error('port ' + port + ' did not accept within 15 s\n' + this.log());
				}
				await sleep(50);
			}
		}
		this.base = 'http://127.0.0.1:' + this.wport;
	}

	log() {
		try { return fs.readFileSync(path.join(this.datadir, 'run.log'), 'utf8'); } catch (e) { return ''; }
	}

	kill() {
		if (!this.proc) return;
		try { process.kill(-this.proc.pid, 'SIGKILL'); } catch (e) { /* gone */ }
	}

	/* SIGTERM and wait; '' when it exited 0 with no sanitizer report, else
	 * what went wrong. */
	async stop() {
		if (!this.proc) return '';
		const problems = [];
		if (!this.exited) this.proc.kill('SIGTERM');
		const deadline = Date.now() + 20000;
		while (!this.exited && Date.now() < deadline) await sleep(50);
		if (!this.exited) {
			this.kill();
			problems.push('mintrac run did not exit within 20 s of SIGTERM');
		} else if (this.exited.code !== 0) {
			problems.push('mintrac run exited ' + JSON.stringify(this.exited) + ' after SIGTERM');
		}
		const groupAlive = () => {
			try { process.kill(-this.proc.pid, 0); return true; } catch (e) { return false; }
		};
		if (groupAlive()) {
			await sleep(500);
			if (groupAlive()) {
				problems.push('children still running after the supervisor exited');
				this.kill();
			}
		}
		const rep = this.log().split('\n').filter((l) =>
			/AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:/.test(l));
		if (rep.length) problems.push('sanitizer reports in run.log:\n' + rep.slice(0, 20).join('\n'));
		this.proc = null;
		return problems.join('\n');
	}

	close() {
		this.kill();
		fs.rmSync(this.root, { recursive: true, force: true });
	}

	web(method, p, headers, body) { return request(this.wport, method, p, headers, body); }
	receiver(method, p, headers, body) { return request(this.rport, method, p, headers, body); }
}

module.exports = { Mintrac, freePort, request, sleep };
